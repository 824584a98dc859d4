// @ts-check
/**
 * The dashboard's entry point: sign-in, hash routing, and a refresh every two seconds that
 * patches the page in place (focus, scroll and open details stay where the reader left them).
 */
import { ApiError, AuthError, NetworkError, get, session } from './api.js';
import { h, morphChildren } from './dom.js';
import { parseRoute, hostHref } from './route.js';
import { sourcePanel } from './views/parts.js';
import * as deploymentsView from './views/deployments.js';
import * as deploymentView from './views/deployment.js';
import * as hostsView from './views/hosts.js';
import * as relaysView from './views/relays.js';
import * as hostView from './views/host.js';

/**
 * @typedef {object} ViewContext
 * @property {any} status the latest GET /v1/status
 * @property {(key: string) => boolean} busy whether an action under this key is running
 * @property {(key: string, run: () => Promise<string>) => void} act runs an action, announces its message, refreshes
 */

const pollMs = 2000;

/** @type {Record<string, {title: (r: any) => string, load: (r: any, s: AbortSignal) => Promise<any>, render: (d: any, r: any, c: ViewContext) => Node}>} */
const views = { deployments: deploymentsView, deployment: deploymentView, hosts: hostsView, host: hostView, relays: relaysView };

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const main = $('main');
const sourceEl = $('source');
const connection = $('connection');
const announcer = $('announcer');

/** @type {{route: import('./route.js').Route, data: any, status: any} | undefined} */
let shown;
/** @type {AbortController | undefined} */
let inflight;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
let signedIn = false;
let generation = 0;
/** @type {Set<string>} */
const busyKeys = new Set();

/** Says something to screen-reader users without moving focus. @param {string} text */
function announce(text) {
  announcer.textContent = '';
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

/** Sets the widths of progress segments (CSP forbids inline style attributes). @param {ParentNode} root */
function applyWidths(root) {
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll('[data-width]'))) {
    const w = el.getAttribute('data-width') ?? '0';
    if (el.style.width !== w) el.style.width = w;
  }
}

/** @type {ViewContext} */
const ctx = {
  status: null,
  busy: (key) => busyKeys.has(key),
  act(key, run) {
    if (busyKeys.has(key)) return;
    busyKeys.add(key);
    rerender();
    run()
      .then((message) => {
        announce(message);
        showNotice(message, 'good');
      })
      .catch((err) => {
        if (err instanceof AuthError) return signOut(authMessage(err));
        const message = err instanceof ApiError ? `Not done: ${err.message}` : 'Not done: the controller could not be reached. Try again.';
        announce(message);
        showNotice(message, 'bad');
      })
      .finally(() => {
        busyKeys.delete(key);
        void refresh('filter');
      });
  },
};

/** A notice under the header (role=status, polite). @param {string} text @param {'good' | 'bad' | 'warn' | ''} tone */
function showNotice(text, tone) {
  connection.className = `connection${tone ? ` tone-${tone}` : ''}`;
  connection.textContent = text;
}

/** @param {AuthError} err */
const authMessage = (err) => `The controller refused the admin token (401: ${err.message}). Sign in again.`;

function rerender() {
  if (!shown) return;
  const view = views[shown.route.view];
  if (!view) return;
  morphChildren(main, wrap(view.render(shown.data, shown.route, ctx)));
  applyWidths(main);
}

/** @param {Node} node */
function wrap(node) {
  const f = document.createDocumentFragment();
  f.appendChild(node);
  return f;
}

/**
 * Loads the route's data and the status, then draws. `first`/`navigate`: a new page (replaced;
 * after navigating, focus moves to its heading); `filter`: the same page with other filters, now;
 * `poll`: fresh data, skipped while another load runs. Both patch the page in place.
 * @param {'first' | 'navigate' | 'filter' | 'poll'} kind
 */
async function refresh(kind) {
  if (!signedIn) return;
  clearTimeout(timer);
  if (kind === 'poll' && inflight) {
    schedule();
    return;
  }
  inflight?.abort();
  const controller = new AbortController();
  inflight = controller;
  const mine = ++generation;
  const route = parseRoute(location.hash);
  const view = views[route.view];
  try {
    const [status, data] = await Promise.all([get('/v1/status', { signal: controller.signal }), view ? view.load(route, controller.signal) : null]);
    if (mine !== generation) return;
    ctx.status = status;
    if (connection.dataset['lost']) {
      delete connection.dataset['lost'];
      showNotice('Connected again.', 'good');
    }
    sourceEl.hidden = false;
    morphChildren(sourceEl, wrap(sourcePanel(status)));
    if (!view) {
      main.replaceChildren(notFound('There is no such page.'));
    } else {
      const wasSame = shown && shown.route.view === route.view && shown.route.id === route.id && (kind === 'poll' || kind === 'filter');
      shown = { route, data, status };
      document.title = `${view.title(route)} · Ferry`;
      if (wasSame) rerender();
      else {
        main.replaceChildren(view.render(data, route, ctx));
        applyWidths(main);
        if (kind === 'navigate') main.querySelector('h1')?.focus();
      }
    }
    markNav(route);
    $('live-indicator').textContent = `Live · ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (mine !== generation || (err instanceof DOMException && err.name === 'AbortError')) return;
    if (err instanceof AuthError) {
      signOut(authMessage(err));
      return;
    }
    if (err instanceof NetworkError) {
      connection.dataset['lost'] = '1';
      showNotice('Lost contact with the controller. Retrying every 2 seconds; what you see may be out of date.', 'warn');
    } else if (err instanceof ApiError && err.status === 404 && kind !== 'poll') {
      shown = undefined;
      main.replaceChildren(notFound(err.message));
      if (kind === 'navigate') main.querySelector('h1')?.focus();
    } else if (err instanceof ApiError) {
      showNotice(`The controller answered ${err.status}: ${err.message}`, 'bad');
    } else {
      showNotice(`Something went wrong drawing this page: ${String(err)}`, 'bad');
      console.error(err);
    }
  } finally {
    if (inflight === controller) inflight = undefined;
    if (mine === generation) schedule();
  }
}

function schedule() {
  clearTimeout(timer);
  if (signedIn) timer = setTimeout(() => void refresh('poll'), pollMs);
}

/** @param {string} message */
function notFound(message) {
  return h(
    'div',
    { class: 'view' },
    h('div', { class: 'card empty' }, h('h1', { tabindex: '-1' }, 'Not found'), h('p', null, message), h('p', null, h('a', { href: '#/deployments' }, 'Back to deployments'))),
  );
}

/** @param {import('./route.js').Route} route */
function markNav(route) {
  const section = route.view === 'host' || route.view === 'hosts' ? 'hosts' : route.view === 'relays' ? 'relays' : 'deployments';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.getAttribute('data-nav') === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** @param {boolean} on */
function setChrome(on) {
  for (const id of ['nav', 'goto-host', 'session']) $(id).hidden = !on;
  if (!on) sourceEl.hidden = true;
}

/** @param {string} [message] */
function signOut(message) {
  session.clear();
  signedIn = false;
  inflight?.abort();
  clearTimeout(timer);
  shown = undefined;
  showSignIn(message);
}

/** @param {string} [message] why we are here again, shown as an alert */
function showSignIn(message) {
  setChrome(false);
  document.title = 'Sign in · Ferry';
  const error = h('div', { id: 'signin-error', class: 'form-error', role: 'alert' }, message ?? '');
  const input = /** @type {HTMLInputElement} */ (
    h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-help signin-error' })
  );
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  /** @param {SubmitEvent} e */
  const onsubmit = async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = 'Enter the admin token.';
      input.focus();
      return;
    }
    button.setAttribute('disabled', '');
    error.textContent = '';
    try {
      await get('/v1/status', { token });
      session.save(token);
      startApp('navigate');
    } catch (err) {
      error.textContent =
        err instanceof AuthError
          ? `The controller refused this token (401). Copy it again from DATA/admin.token on the controller (ferry demo prints it).`
          : err instanceof NetworkError
            ? 'Cannot reach the controller. Is it running?'
            : `The controller answered: ${err instanceof Error ? err.message : String(err)}`;
      input.focus();
      input.select();
    } finally {
      button.removeAttribute('disabled');
    }
  };
  main.replaceChildren(
    h(
      'div',
      { class: 'signin' },
      h(
        'form',
        { class: 'card signin-card', onsubmit, 'aria-labelledby': 'signin-heading', novalidate: true },
        h('h1', { id: 'signin-heading', tabindex: '-1' }, 'Sign in'),
        h('p', { class: 'lede' }, 'The dashboard shows what the controller knows about every deployment and host. It needs the controller’s admin token.'),
        h('label', { for: 'token' }, 'Admin token'),
        input,
        h(
          'p',
          { id: 'token-help', class: 'muted small' },
          'In ',
          h('code', null, 'DATA/admin.token'),
          ' on the controller (',
          h('code', null, 'ferry demo'),
          ' prints it). Kept in this tab only, until you close it or sign out.',
        ),
        error,
        button,
      ),
    ),
  );
  if (message) input.focus();
}

/** @param {'navigate' | 'first'} kind */
function startApp(kind) {
  signedIn = true;
  setChrome(true);
  shown = undefined;
  void refresh(kind);
}

window.addEventListener('hashchange', () => {
  if (!signedIn) return;
  const route = parseRoute(location.hash);
  const same = shown && shown.route.view === route.view && shown.route.id === route.id;
  void refresh(same ? 'filter' : 'navigate');
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && signedIn) void refresh('poll');
});

$('sign-out').addEventListener('click', () => signOut('Signed out. The token was removed from this tab.'));

$('goto-host').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('goto-host-name'));
  const name = input.value.trim().toLowerCase();
  if (!name) return;
  location.hash = hostHref(name);
  input.value = '';
});

if (session.token()) startApp('first');
else showSignIn();
