/**
 * When signing keys (the CA, JWT-SVID keys) are made, sign and leave the
 * published set. Pure: the keys and the time in, a plan out;
 * `rotating-keys.ts` does the I/O through its store. Every replica computes
 * the same plan from the same rows, so they agree without talking to each
 * other.
 *
 *   made ──(half a period)──▶ activates ──(one period)──▶ retires ──▶ notAfter
 *   |◀──────────────── published (bundle / JWKS) ─────────────────────────▶|
 *
 * A key is published from the moment it is made, half a rotation period
 * before it signs, so relying parties that cache the bundle or JWKS learn
 * it in time; it stays published until `notAfter`, by which time everything
 * it signed has expired (SVIDs are capped at the CA's notAfter, JWT-SVIDs at
 * the key's).
 */
export interface ScheduledKey {
  readonly id: string;
  readonly algorithm: string;
  /** when it starts signing */
  readonly activatesAt: Date;
  /** when everything it signed has expired: it leaves the published set */
  readonly notAfter: Date;
}

export interface KeyPlan<K extends ScheduledKey> {
  /** the key that signs now; undefined only when `make` activates now */
  readonly current: K | undefined;
  /** made and published, not signing yet */
  readonly next: K | undefined;
  /** current, next, then the retired keys still published, newest first */
  readonly published: readonly K[];
  /** a key to make now, and when it is to start signing */
  readonly make?: { readonly activatesAt: Date };
}

export interface Rotation {
  readonly periodSeconds: number;
  /** only keys of this algorithm sign; others stay published until their notAfter */
  readonly algorithm: string;
}

export function planKeys<K extends ScheduledKey>(keys: readonly K[], now: Date, rotation: Rotation): KeyPlan<K> {
  const t = now.getTime();
  const period = rotation.periodSeconds * 1000;
  const live = keys
    .filter((k) => k.notAfter.getTime() > t)
    .sort((a, b) => a.activatesAt.getTime() - b.activatesAt.getTime());
  const signers = live.filter((k) => k.algorithm === rotation.algorithm);
  const current = signers.filter((k) => k.activatesAt.getTime() <= t).at(-1);
  const next = signers.find((k) => k.activatesAt.getTime() > t);
  const published = [
    ...(current ? [current] : []),
    ...(next ? [next] : []),
    ...live.filter((k) => k !== current && k !== next).reverse(),
  ];

  let make: { activatesAt: Date } | undefined;
  if (!current) {
    // first start, a new algorithm, or every replica down past a whole key lifetime
    make = { activatesAt: now };
  } else if (!next) {
    const due = current.activatesAt.getTime() + period;
    if (t >= due)
      make = { activatesAt: now }; // overdue: no replica ran during the pre-publication window
    else if (t >= due - period / 2) make = { activatesAt: new Date(due) };
  }
  return { current, next, published, ...(make && { make }) };
}

/**
 * The first instant after `now` at which a key activates or leaves the
 * published set (ms; Infinity when none will): until then the plan's
 * `current` and `published` stay as they are, so a caller may keep them.
 */
export function nextKeyChange(keys: readonly ScheduledKey[], now: Date): number {
  const t = now.getTime();
  let next = Infinity;
  for (const k of keys) {
    for (const at of [k.activatesAt.getTime(), k.notAfter.getTime()]) if (at > t && at < next) next = at;
  }
  return next;
}

/** How often to re-plan: often enough to catch the half-period pre-publication window. */
export function tickMilliseconds(...periodsSeconds: number[]): number {
  const shortest = Math.min(...periodsSeconds) * 1000;
  return Math.min(10 * 60_000, Math.max(250, Math.floor(shortest / 8)));
}
