import { Batcher, MAX_BATCH } from './batcher';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fake DescribeInstances: records each call's ids, answers after `latencyMs`; ids ending in `x` are unknown. */
function fakeEc2(latencyMs = 1) {
  const calls: string[][] = [];
  const describe = async (ids: string[]) => {
    calls.push(ids);
    await sleep(latencyMs);
    return new Map(ids.filter((id) => !id.endsWith('x')).map((id) => [id, { id }]));
  };
  return { calls, describe };
}

describe('Batcher', () => {
  it('answers a lone look-up after a short wait, in one call', async () => {
    const ec2 = fakeEc2();
    const started = Date.now();
    expect(await new Batcher(ec2.describe).lookup('i-1')).toEqual({ id: 'i-1' });
    expect(Date.now() - started).toBeLessThan(100);
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
    const ec2 = fakeEc2(50);
    const batcher = new Batcher(ec2.describe);
    const first = batcher.lookup('i-a');
    await sleep(20); // the first call is in flight now
    const rest = [batcher.lookup('i-b'), batcher.lookup('i-c'), batcher.lookup('i-a')];
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
