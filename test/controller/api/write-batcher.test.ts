import { expect } from 'chai';
import { WriteBatcher } from '../../../controller/api/write-batcher.js';

/** A write that records its calls; items named `bad…` make the whole call throw. */
function recordingWrite() {
  const calls: string[][] = [];
  const write = async (items: readonly string[]): Promise<readonly string[]> => {
    calls.push([...items]);
    if (items.some((i) => i.startsWith('bad'))) throw new Error(`cannot write ${items.join(',')}`);
    return items.map((i) => i.toUpperCase());
  };
  return { calls, write };
}

const settled = (ps: readonly Promise<string>[]) =>
  Promise.all(
    ps.map((p) =>
      p.then(
        (value) => ({ value }),
        (e: Error) => ({ error: e.message }),
      ),
    ),
  );

describe('controller/api WriteBatcher', () => {
  it('writes items submitted together in one call and gives each its own result', async () => {
    const { calls, write } = recordingWrite();
    const batcher = new WriteBatcher(write, { maxItems: 10, maxWaitMs: 1 });
    expect(await settled(['a', 'b', 'c'].map((i) => batcher.submit(i)))).to.deep.equal([{ value: 'A' }, { value: 'B' }, { value: 'C' }]);
    expect(calls).to.deep.equal([['a', 'b', 'c']]);
  });

  it('splits at maxItems', async () => {
    const { calls, write } = recordingWrite();
    const batcher = new WriteBatcher(write, { maxItems: 2, maxWaitMs: 1 });
    expect(await settled(['a', 'b', 'c'].map((i) => batcher.submit(i)))).to.deep.equal([{ value: 'A' }, { value: 'B' }, { value: 'C' }]);
    expect(calls).to.deep.equal([['a', 'b'], ['c']]);
  });

  it('when a batch fails, writes its items one by one so only the failing item is refused', async () => {
    const { calls, write } = recordingWrite();
    const batcher = new WriteBatcher(write, { maxItems: 10, maxWaitMs: 1 });
    expect(await settled(['a', 'bad1', 'c'].map((i) => batcher.submit(i)))).to.deep.equal([{ value: 'A' }, { error: 'cannot write bad1' }, { value: 'C' }]);
    expect(calls).to.deep.equal([['a', 'bad1', 'c'], ['a'], ['bad1'], ['c']]);
  });

  it('collects items submitted while a write runs into the next call', async () => {
    const calls: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started!: () => void;
    const first = new Promise<void>((r) => {
      started = r;
    });
    const batcher = new WriteBatcher(
      async (items: readonly string[]) => {
        calls.push([...items]);
        if (calls.length === 1) {
          started();
          await gate;
        }
        return items.map((i) => i.toUpperCase());
      },
      { maxItems: 10, maxWaitMs: 1 },
    );
    const a = batcher.submit('a');
    await first;
    const rest = ['b', 'c', 'd'].map((i) => batcher.submit(i));
    release();
    expect(await settled([a, ...rest])).to.deep.equal([{ value: 'A' }, { value: 'B' }, { value: 'C' }, { value: 'D' }]);
    expect(calls).to.deep.equal([['a'], ['b', 'c', 'd']]);
  });
});
