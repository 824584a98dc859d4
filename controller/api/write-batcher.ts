/**
 * Group commit for request handlers: items submitted while a write is running, or within
 * `maxWaitMs` of each other, are written by one `write` call (one transaction) of at most
 * `maxItems`; each submitter gets its own result. When a batch fails as a whole, its items are
 * written one by one, so one bad item fails only its own request, as without batching.
 */
export interface WriteBatcherOptions {
  readonly maxItems: number;
  readonly maxWaitMs: number;
}

interface Waiting<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: unknown) => void;
}

export class WriteBatcher<I, O> {
  #pending: Waiting<I, O>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(
    /** Returns one result per item, in order. */
    private readonly write: (items: readonly I[]) => Promise<readonly O[]>,
    private readonly options: WriteBatcherOptions = { maxItems: 256, maxWaitMs: 2 },
  ) {}

  /** Resolves once the batch holding `item` is written (committed) with `item`'s own result. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#running) return; // written as soon as the running batch ends
      if (this.#pending.length >= this.options.maxItems) void this.#flush();
      else this.#timer ??= setTimeout(() => void this.#flush(), this.options.maxWaitMs);
    });
  }

  async #flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running || this.#pending.length === 0) return;
    const batch = this.#pending.splice(0, this.options.maxItems);
    this.#running = true;
    try {
      await this.#settle(batch);
    } finally {
      this.#running = false;
      if (this.#pending.length > 0) void this.#flush();
    }
  }

  async #settle(batch: readonly Waiting<I, O>[]): Promise<void> {
    let results: readonly O[];
    try {
      results = await this.write(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`write returned ${results.length} results for ${batch.length} items`);
    } catch (e) {
      if (batch.length === 1) {
        batch[0]!.reject(e);
        return;
      }
      for (const w of batch) await this.#settle([w]);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]!));
  }
}
