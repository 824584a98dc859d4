/**
 * Statements PostgreSQL parses and plans once per connection (issue 17): a fixed text (arrays as
 * parameters, `unnest`ed, instead of a VALUES list per row count) registered here is sent as a
 * named prepared statement by every pool connection (open-store.ts), so a batch costs binding its
 * parameters and executing, not parsing, analysing and planning its text again. Only registered
 * texts are named, so a connection holds a handful of prepared statements, never one per query.
 */
const names = new Map<string, string>();

/** Registers `text` as a statement to prepare once per connection; returns it. */
export function prepared(text: string): string {
  if (!names.has(text)) names.set(text, `ferry_${names.size + 1}`);
  return text;
}

type Query = (...args: unknown[]) => unknown;

/** Makes `client` send registered texts as named prepared statements (the pg driver parses a name once per connection). */
export function nameStatements(client: { query: Query }): void {
  // The class's own method, looked up at each call.
  const proto = Object.getPrototypeOf(client) as { query: Query };
  client.query = (...args: unknown[]) => {
    const [text, values, callback] = args;
    const name = typeof text === 'string' && Array.isArray(values) ? names.get(text) : undefined;
    if (name === undefined) return proto.query.apply(client, args);
    return proto.query.apply(client, callback === undefined ? [{ name, text, values }] : [{ name, text, values }, callback]);
  };
}
