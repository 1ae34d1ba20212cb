import { Batcher, IDLE_GAP_MS, MAX_BATCH, MAX_INTERVAL_MS, type BatcherClock } from './batcher';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A fake DescribeInstances: records each call's ids, answers after
 * `latencyMs` and once `answering` resolved; ids ending in `x` are unknown.
 */
function fakeEc2(latencyMs = 1, answering: Promise<void> = Promise.resolve()) {
  const calls: string[][] = [];
  const describe = async (ids: string[]) => {
    calls.push(ids);
    await sleep(latencyMs);
    await answering;
    return new Map(ids.filter((id) => !id.endsWith('x')).map((id) => [id, { id }]));
  };
  return { calls, describe };
}

/** A clock the test moves by hand; timers fire as it passes them. */
function manualClock() {
  let now = 0;
  let timers: { at: number; callback: () => void }[] = [];
  const clock: BatcherClock = {
    now: () => now,
    setTimeout: (callback, ms) => {
      const timer = { at: now + ms, callback };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (handle) => {
      timers = timers.filter((t) => t !== handle);
    },
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  async function advance(ms: number): Promise<void> {
    const until = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers = timers.filter((t) => t !== due);
      now = due.at;
      due.callback();
      await settle();
    }
    now = until;
    await settle();
  }
  return { clock, advance };
}

describe('Batcher', () => {
  it('spaces the calls of a long trickle further and further apart, then answers a lone look-up at once after a quiet spell', async () => {
    // answers without a real timer, so only the manual clock paces the calls
    const ec2 = { calls: [] as string[][] };
    const describe = async (ids: string[]) => {
      ec2.calls.push(ids);
      return new Map(ids.map((id) => [id, { id }]));
    };
    const { clock, advance } = manualClock();
    const batcher = new Batcher(describe, clock);
    const answers: Promise<unknown>[] = [];
    // 200 look-ups, one every 50 ms: a burst a slowed server spreads over 10 s
    for (let i = 0; i < 200; i++) {
      answers.push(batcher.lookup(`i-${i}`));
      await advance(50);
    }
    await advance(MAX_INTERVAL_MS * 2);
    expect((await Promise.all(answers)).every((a) => a !== null)).toBe(true);
    expect(ec2.calls.length).toBeLessThanOrEqual(10);
    expect(ec2.calls.flat()).toHaveLength(200);

    await advance(MAX_INTERVAL_MS * 5);
    const lone = batcher.lookup('i-lone');
    await advance(IDLE_GAP_MS);
    await expect(lone).resolves.toEqual({ id: 'i-lone' });
  });

  it('answers a lone look-up in one call (how soon: the manual-clock test above)', async () => {
    const ec2 = fakeEc2();
    expect(await new Batcher(ec2.describe).lookup('i-1')).toEqual({ id: 'i-1' });
    expect(ec2.calls).toEqual([['i-1']]);
  });

  it('puts look-ups of the same tick into one call and answers each its own instance, or null', async () => {
    const ec2 = fakeEc2();
    const batcher = new Batcher(ec2.describe);
    const answers = await Promise.all(['i-1', 'i-2', 'i-gone-x', 'i-1'].map((id) => batcher.lookup(id)));
    expect(answers).toEqual([{ id: 'i-1' }, { id: 'i-2' }, null, { id: 'i-1' }]);
    expect(ec2.calls).toEqual([['i-1', 'i-2', 'i-gone-x']]);
  });

  it('keeps a batch open while look-ups keep arriving within the idle gap', async () => {
    const ec2 = fakeEc2();
    const batcher = new Batcher(ec2.describe);
    const answers: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      answers.push(batcher.lookup(`i-${i}`));
      await sleep(1);
    }
    await Promise.all(answers);
    expect(ec2.calls.length).toBeLessThanOrEqual(2);
  });

  it('gathers look-ups that arrive while a call is in flight into the next call', async () => {
    let answer!: () => void;
    // the first call stays in flight until the others arrived, however slowly this process runs
    const ec2 = fakeEc2(1, new Promise<void>((resolve) => (answer = resolve)));
    const batcher = new Batcher(ec2.describe);
    const first = batcher.lookup('i-a');
    while (ec2.calls.length === 0) await sleep(1);
    const rest = [batcher.lookup('i-b'), batcher.lookup('i-c'), batcher.lookup('i-a')];
    answer();
    await Promise.all([first, ...rest]);
    expect(ec2.calls).toEqual([['i-a'], ['i-b', 'i-c', 'i-a']]);
  });

  it(`sends at most ${MAX_BATCH} ids a call, full batches at once`, async () => {
    const ec2 = fakeEc2();
    const batcher = new Batcher(ec2.describe);
    await Promise.all(Array.from({ length: 250 }, (_, i) => batcher.lookup(`i-${i}`)));
    expect(ec2.calls.map((ids) => ids.length)).toEqual([100, 100, 50]);
  });

  it('costs few calls for a burst spread over time: about its duration over the call latency', async () => {
    const ec2 = fakeEc2(30);
    const batcher = new Batcher(ec2.describe);
    const answers: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      answers.push(batcher.lookup(`i-${i}`));
      if (i % 10 === 9) await sleep(10); // 200 look-ups over ~200 ms
    }
    await Promise.all(answers);
    expect(ec2.calls.flat()).toHaveLength(200);
    expect(ec2.calls.length).toBeLessThanOrEqual(10);
  });

  it('fails every look-up of a call that failed, and serves later look-ups with new calls', async () => {
    let fail = true;
    const batcher = new Batcher(async (ids: string[]) => {
      if (fail) throw new Error('down');
      return new Map(ids.map((id) => [id, id]));
    });
    const results = await Promise.allSettled([batcher.lookup('i-1'), batcher.lookup('i-2')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batcher.lookup('i-1')).toBe('i-1');
  });
});
