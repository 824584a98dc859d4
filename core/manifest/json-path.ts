/** JSON paths as people read them: `spec.windows[0].cron`. */
import type { JsonPath } from './yaml-documents.js';

/** `spec.windows[0].cron`; keys that are not plain words are quoted: `labels["app/tier"]`. */
export function formatPath(path: JsonPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** An ajv instancePath (`/spec/windows/0`) as segments; list indexes become numbers where the value is a list. */
export function parsePointer(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let value: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) {
      const i = Number(seg);
      out.push(i);
      value = value[i];
    } else {
      out.push(seg);
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}
