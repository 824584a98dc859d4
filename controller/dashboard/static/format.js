// @ts-check
/** Presentation of states, numbers, sizes and times. Every state is shown as text with a glyph, never by colour alone. */
import { h } from './dom.js';

/** Action states in the order a reader scans them (problems first, then progress, then settled), served by the controller from core. */
export { states } from './states.js';

/** @type {Record<string, {label: string, glyph: string, tone: string, help: string}>} */
export const stateInfo = {
  pending: { label: 'pending', glyph: '○', tone: 'idle', help: 'in the plan, not started (or not reported yet)' },
  waiting: { label: 'waiting', glyph: '◷', tone: 'idle', help: 'for a time window or a dependency' },
  downloading: { label: 'downloading', glyph: '↓', tone: 'busy', help: 'transferring the package' },
  downloaded: { label: 'downloaded', glyph: '⇣', tone: 'busy', help: 'ready to install' },
  installing: { label: 'installing', glyph: '⚙', tone: 'busy', help: 'the installer is running' },
  installed: { label: 'installed', glyph: '✓', tone: 'good', help: 'done' },
  uninstalled: { label: 'uninstalled', glyph: '✓', tone: 'good', help: 'removed as asked' },
  failed: { label: 'failed', glyph: '✕', tone: 'bad', help: 'see the reason and the installer output' },
  'not-applicable': { label: 'not applicable', glyph: '–', tone: 'na', help: 'a condition does not hold on this host' },
  suspended: { label: 'suspended', glyph: '‖', tone: 'warn', help: 'the deployment is suspended' },
  blocked: { label: 'blocked', glyph: '⊘', tone: 'warn', help: 'the controller holds it back (see the reason)' },
};

/** A state as a badge: glyph + words. @param {string} state */
export function stateBadge(state) {
  const info = stateInfo[state] ?? { label: state, glyph: '•', tone: 'idle', help: '' };
  return h(
    'span',
    { class: `badge tone-${info.tone}`, 'data-state': state, title: info.help || null },
    h('span', { class: 'glyph', 'aria-hidden': 'true' }, info.glyph),
    info.label,
  );
}

const numberFormat = new Intl.NumberFormat('en-US');
/** @param {number} n */
export const num = (n) => numberFormat.format(n);

/** @param {number} n @param {string} one @param {string} [many] */
export const plural = (n, one, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;

/** @param {number | undefined} bytes */
export function size(bytes) {
  if (bytes === undefined || bytes === null || Number.isNaN(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 10 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** "3 min ago" / "in 2 h". @param {string | undefined} iso */
export function ago(iso) {
  if (!iso) return 'never';
  const ms = Date.now() - Date.parse(iso);
  const future = ms < 0;
  const s = Math.abs(ms) / 1000;
  const text = s < 5 ? 'just now' : s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86400 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`;
  if (text === 'just now') return text;
  return future ? `in ${text}` : `${text} ago`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
/** @param {string} iso */
export const fullTime = (iso) => timeFormat.format(new Date(iso));

/** A <time> with a relative text and the full date as its title. @param {string | undefined} iso */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  return h('time', { datetime: iso, title: fullTime(iso) }, ago(iso));
}

/** `main@sha1:0123…` shortened to 12 hex digits; the full one in the title. @param {string | undefined} rev */
export function revision(rev) {
  if (!rev) return h('span', { class: 'muted' }, 'none yet');
  const m = /^(.*?[:@])([0-9a-f]{13,})$/.exec(rev);
  const short = m ? `${m[1]}${m[2].slice(0, 12)}` : rev;
  return h('code', { class: 'rev', title: rev }, short);
}

/** Done (installed + uninstalled), not applicable, failed, moving, and the rest. @param {Record<string, number>} counts */
export function progressParts(counts) {
  const c = (/** @type {string} */ s) => counts[s] ?? 0;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const done = c('installed') + c('uninstalled');
  const na = c('not-applicable');
  const failed = c('failed');
  const moving = c('downloading') + c('downloaded') + c('installing');
  return { total, done, na, failed, moving, rest: total - done - na - failed - moving };
}
