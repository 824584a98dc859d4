// @ts-check
/**
 * A tiny DOM toolkit: `h()` builds elements, `morph()` patches a live tree to match a new one
 * in place, so a refresh every two seconds keeps focus, scroll, text selection and open
 * <details>. Children with a `data-key` attribute are matched by key, others by position.
 */

/** Properties copied as event handlers instead of attributes. */
const handlerProps = ['onclick', 'onchange', 'oninput', 'onsubmit', 'onkeydown', 'ontoggle'];

/**
 * Builds an element. `attrs`: attribute values (false/null/undefined: absent, true: empty),
 * `on*` functions as handlers. Children: nodes, strings, numbers, arrays, null/false (skipped).
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') /** @type {any} */ (el)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Node} parent @param {any[]} children */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A fragment of children, for views that return several nodes. @param {...any} children */
export function frag(...children) {
  const f = document.createDocumentFragment();
  append(f, children);
  return f;
}

/** @param {Node} n */
const keyOf = (n) => (n.nodeType === 1 ? /** @type {Element} */ (n).getAttribute('data-key') : null);

/** @param {Node} a @param {Node} b */
function compatible(a, b) {
  if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) return false;
  if (a.nodeName === 'INPUT') return /** @type {HTMLInputElement} */ (a).type === /** @type {HTMLInputElement} */ (b).type;
  return true;
}

/**
 * Makes `target`'s children match `source`'s children, reusing nodes where possible.
 * @param {Element} target a live element
 * @param {Element | DocumentFragment} source a detached tree
 */
export function morphChildren(target, source) {
  const oldKids = [...target.childNodes];
  const newKids = [...source.childNodes];
  /** @type {Map<string, Node>} */
  const byKey = new Map();
  for (const o of oldKids) {
    const k = keyOf(o);
    if (k !== null) byKey.set(k, o);
  }
  const unkeyed = oldKids.filter((o) => keyOf(o) === null);
  let u = 0;
  /** @type {Set<Node>} */
  const used = new Set();
  newKids.forEach((n, i) => {
    const k = keyOf(n);
    /** @type {Node | undefined} */
    let o;
    if (k !== null) {
      o = byKey.get(k);
      if (o && !compatible(o, n)) o = undefined;
    } else {
      while (u < unkeyed.length && used.has(/** @type {Node} */ (unkeyed[u]))) u++;
      const candidate = unkeyed[u];
      if (candidate && compatible(candidate, n)) {
        o = candidate;
        u++;
      }
    }
    let node;
    if (o) {
      used.add(o);
      morphNode(o, n);
      node = o;
    } else {
      node = n;
    }
    const at = target.childNodes[i] ?? null;
    if (at !== node) target.insertBefore(node, at);
  });
  for (const o of oldKids) if (!used.has(o) && o.parentNode === target) target.removeChild(o);
}

/** @param {Node} old @param {Node} nw */
function morphNode(old, nw) {
  if (old.nodeType !== 1) {
    if (old.nodeValue !== nw.nodeValue) old.nodeValue = nw.nodeValue;
    return;
  }
  const o = /** @type {HTMLElement} */ (old);
  const n = /** @type {HTMLElement} */ (nw);
  const focused = o === document.activeElement;
  for (const attr of [...o.attributes]) {
    if (o.nodeName === 'DETAILS' && attr.name === 'open') continue; // the reader opened or closed it
    if (!n.hasAttribute(attr.name)) o.removeAttribute(attr.name);
  }
  for (const attr of [...n.attributes]) {
    if (o.nodeName === 'DETAILS' && attr.name === 'open') continue;
    if (o.getAttribute(attr.name) !== attr.value) o.setAttribute(attr.name, attr.value);
  }
  for (const p of handlerProps) {
    const fn = /** @type {any} */ (n)[p];
    if (/** @type {any} */ (o)[p] !== fn) /** @type {any} */ (o)[p] = fn;
  }
  if (o.nodeName === 'TEXTAREA' || (o.nodeName === 'PRE' && o.dataset['raw'] !== undefined)) {
    if (o.textContent !== n.textContent) o.textContent = n.textContent;
    return;
  }
  morphChildren(o, n);
  if (!focused) {
    if (o instanceof HTMLInputElement && n instanceof HTMLInputElement && o.value !== n.value && !o.dataset['userEdited']) o.value = n.value;
    if (o instanceof HTMLSelectElement && n instanceof HTMLSelectElement) {
      const wanted = [...n.options].findIndex((x) => x.hasAttribute('selected'));
      if (wanted >= 0 && o.selectedIndex !== wanted) o.selectedIndex = wanted;
    }
  }
}

/** Replaces `target`'s children with `content` (a node or fragment), without morphing. @param {Element} target @param {Node} content */
export function replaceChildren(target, content) {
  target.replaceChildren(content);
}
