import { LRUCache } from 'lru-cache';
import { NO_STATS, type CloudStats } from './stats';

export interface CoalescingCacheOptions<V> {
  /** the `cache` label of `attestd.cache.lookups` */
  name: string;
  /** bound on entries; the least recently used go first */
  max: number;
  /** how long a loaded value is served (`cloudCacheTtl`) */
  ttlMs: number;
  /** the life of one value instead of `ttlMs` (negative answers, credentials that expire); ≤ 0: not cached */
  ttlOf?: (value: V) => number;
  /**
   * Age after which a hit still answers with the cached value but starts a
   * background reload (coalesced): assumed-role credentials are replaced
   * before they expire, so no login waits on STS while they are fresh.
   */
  refreshAheadOf?: (value: V) => number;
  stats?: CloudStats;
  /** milliseconds clock; default Date.now (tests pass their own) */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  loadedAt: number;
  refreshAt: number;
}

/**
 * A bounded TTL cache (lru-cache) in front of AWS whose look-ups of one key
 * share a single load while it is in flight: a burst of logins for one
 * account or instance costs one AWS call, not one per login. Failed loads are
 * not cached (the next look-up tries again), so an AWS outage is never
 * remembered as an answer. Values may be anything, `null` included (boxed).
 *
 * In-flight loads live in a Map beside the LRU rather than in lru-cache's own
 * `fetch`: `fetch` resolves `undefined` when an in-flight entry is evicted by
 * a burst of other keys, which would surface as a bogus answer.
 */
export class CoalescingCache<K extends string, V> {
  private readonly lru: LRUCache<K, Entry<V>>;
  private readonly inFlight = new Map<K, Promise<V>>();
  private readonly stats: CloudStats;
  private readonly now: () => number;

  constructor(private readonly options: CoalescingCacheOptions<V>) {
    // a test clock drives lru-cache's TTLs too (`perf`), without its 1 ms time caching
    this.lru = new LRUCache<K, Entry<V>>({
      max: options.max,
      ttl: options.ttlMs,
      ...(options.now && { perf: { now: options.now }, ttlResolution: 0 }),
    });
    this.stats = options.stats ?? NO_STATS;
    this.now = options.now ?? Date.now;
  }

  /**
   * The cached value; else the in-flight load's; else `load()`'s, cached on
   * success. With `reloadIfOlderThanMs`, an entry at least that old counts as
   * a miss (a negative answer re-checked at a bounded rate).
   */
  async get(key: K, load: () => Promise<V>, options: { reloadIfOlderThanMs?: number } = {}): Promise<V> {
    const entry = this.lru.get(key);
    const now = this.now();
    const stale =
      entry && options.reloadIfOlderThanMs !== undefined && now - entry.loadedAt >= options.reloadIfOlderThanMs;
    if (entry && !stale) {
      this.stats.cache(this.options.name, 'hit');
      if (now >= entry.refreshAt && !this.inFlight.has(key)) this.start(key, load).catch(() => undefined); // the current value holds until its TTL
      return entry.value;
    }
    const running = this.inFlight.get(key);
    this.stats.cache(this.options.name, running ? 'hit' : 'miss');
    return running ?? this.start(key, load);
  }

  /** Forgets a key (its in-flight load, if any, still answers its callers). */
  delete(key: K): void {
    this.lru.delete(key);
  }

  get size(): number {
    return this.lru.size;
  }

  private start(key: K, load: () => Promise<V>): Promise<V> {
    const promise = (async () => {
      try {
        const value = await load();
        const loadedAt = this.now();
        const ttl = this.options.ttlOf ? this.options.ttlOf(value) : this.options.ttlMs;
        const refreshAfter = this.options.refreshAheadOf?.(value);
        if (ttl > 0)
          this.lru.set(
            key,
            { value, loadedAt, refreshAt: refreshAfter === undefined ? Infinity : loadedAt + refreshAfter },
            { ttl },
          );
        else this.lru.delete(key);
        return value;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, promise);
    return promise;
  }
}
