import { CoalescingCache } from './cache';
import type { CloudStats } from './stats';

function recordingStats() {
  const lookups: string[] = [];
  const stats: CloudStats = { request: () => undefined, cache: (_cache, result) => void lookups.push(result) };
  return { stats, lookups };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('CoalescingCache', () => {
  let now = 1_000_000;
  const clock = () => now;
  const make = (options: Partial<ConstructorParameters<typeof CoalescingCache<string, string | null>>[0]> = {}) => {
    const { stats, lookups } = recordingStats();
    return {
      cache: new CoalescingCache<string, string | null>({
        name: 't',
        max: 10,
        ttlMs: 60_000,
        stats,
        now: clock,
        ...options,
      }),
      lookups,
    };
  };

  it('serves a loaded value from the cache until its TTL, then loads again', async () => {
    const { cache, lookups } = make();
    const load = jest.fn(async () => 'v');
    expect(await cache.get('k', load)).toBe('v');
    now += 59_999;
    expect(await cache.get('k', load)).toBe('v');
    now += 2;
    expect(await cache.get('k', load)).toBe('v');
    expect(load).toHaveBeenCalledTimes(2);
    expect(lookups).toEqual(['miss', 'hit', 'miss']);
  });

  it('joins concurrent look-ups of one key to the load in flight', async () => {
    const { cache, lookups } = make();
    const gate = deferred<string>();
    const load = jest.fn(() => gate.promise);
    const all = Promise.all(Array.from({ length: 100 }, () => cache.get('k', load)));
    gate.resolve('v');
    expect(await all).toEqual(Array(100).fill('v'));
    expect(load).toHaveBeenCalledTimes(1);
    expect(lookups.filter((r) => r === 'miss')).toHaveLength(1);
  });

  it('does not cache a failed load: every waiter gets the error, the next look-up loads again', async () => {
    const { cache } = make();
    const gate = deferred<string>();
    const first = Promise.allSettled([cache.get('k', () => gate.promise), cache.get('k', () => gate.promise)]);
    gate.reject(new Error('down'));
    expect((await first).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await cache.get('k', async () => 'back')).toBe('back');
  });

  it('caches null answers, for their own TTL', async () => {
    const { cache } = make({ ttlOf: (v) => (v === null ? 5_000 : 60_000) });
    const load = jest.fn(async () => null);
    expect(await cache.get('k', load)).toBeNull();
    expect(await cache.get('k', load)).toBeNull();
    now += 5_001;
    await cache.get('k', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('stays bounded: the least recently used entry goes first', async () => {
    const { cache } = make({ max: 2 });
    await cache.get('a', async () => 'a');
    await cache.get('b', async () => 'b');
    await cache.get('a', async () => 'a');
    await cache.get('c', async () => 'c');
    expect(cache.size).toBe(2);
    const load = jest.fn(async () => 'b2');
    expect(await cache.get('b', load)).toBe('b2');
    expect(load).toHaveBeenCalled();
  });

  it('refreshes ahead: past the refresh point a hit answers at once and reloads in the background, once', async () => {
    const { cache } = make({ refreshAheadOf: () => 10_000 });
    await cache.get('k', async () => 'old');
    now += 10_000;
    const gate = deferred<string>();
    const reload = jest.fn(() => gate.promise);
    expect(await cache.get('k', reload)).toBe('old');
    expect(await cache.get('k', reload)).toBe('old');
    expect(reload).toHaveBeenCalledTimes(1);
    gate.resolve('new');
    await gate.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache.get('k', reload)).toBe('new');
  });

  it('keeps answering the current value when a background refresh fails', async () => {
    const { cache } = make({ refreshAheadOf: () => 10_000 });
    await cache.get('k', async () => 'old');
    now += 10_000;
    expect(await cache.get('k', () => Promise.reject(new Error('sts down')))).toBe('old');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache.get('k', async () => 'unused')).toBe('old');
  });

  it('treats an entry older than reloadIfOlderThanMs as a miss', async () => {
    const { cache } = make();
    await cache.get('k', async () => 'v1');
    now += 1_000;
    expect(await cache.get('k', async () => 'v2', { reloadIfOlderThanMs: 2_000 })).toBe('v1');
    expect(await cache.get('k', async () => 'v2', { reloadIfOlderThanMs: 1_000 })).toBe('v2');
  });
});
