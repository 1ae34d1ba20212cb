import type { KeyCustody } from './key-custody';
import { nextKeyChange, planKeys, type KeyPlan, type ScheduledKey } from './key-schedule';
import type { StoredKey } from './key-store';

/** What differs between the CA and the JWT-SVID keys: how one is made and opened, and its schedule. */
export interface KeyKind<Opened> {
  /** the rows' `purpose` */
  readonly purpose: string;
  /** new keys are named `<idPrefix>/1` (the first), then `<idPrefix>/<activation ms>` */
  readonly idPrefix: string;
  /** new keys use it, and only keys of it sign; others stay published until their notAfter */
  readonly algorithm: string;
  readonly periodSeconds: number;
  /** a new key, sealed, to sign from `activatesAt` */
  make(id: string, activatesAt: Date): StoredKey | Promise<StoredKey>;
  /** the usable key from its row and opened private key */
  open(stored: StoredKey, privateKeyPem: string): Opened;
}

/** A stored key with its schedule: `activatesAt` is the row's not_before. */
interface Row extends ScheduledKey {
  readonly stored: StoredKey;
}

/**
 * One kind of rotating signing key (the CA, the JWT-SVID keys): loads the
 * rows every replica stored, makes the one the schedule calls for, opens
 * the ones not opened yet. Which key signs is decided at each use.
 */
export class RotatingKeys<Opened> {
  private rows: Row[] = [];
  private readonly opened = new Map<string, Opened>();
  /**
   * The plan of `rows`, kept while no key activates or expires: every
   * issuance and bundle asks for it, and re-planning filtered and sorted
   * the rows each time (a few percent of a request's allocations).
   */
  private kept: { rows: readonly Row[]; from: number; until: number; plan: KeyPlan<Row> } | undefined;

  constructor(
    private readonly kind: KeyKind<Opened>,
    private readonly custody: KeyCustody,
  ) {}

  async refresh(now: Date): Promise<void> {
    // Keys are opened before they are installed, so a request never sees a row it cannot sign with.
    let rows = await this.load();
    // The stored keys first: one that cannot serve here (another trust
    // domain's CA, a key the key-encryption key does not open) stops the
    // start before a new key is stored beside it.
    this.openAll(rows);
    const make = this.plan(now, rows).make;
    if (make) {
      const id = this.newKeyId(rows, make.activatesAt);
      await this.custody.store.getOrCreate(id, () => this.kind.make(id, make.activatesAt));
      rows = await this.load();
      this.openAll(rows);
    }
    this.rows = rows;
  }

  private openAll(rows: readonly Row[]): void {
    for (const row of rows) {
      if (!this.opened.has(row.id)) this.opened.set(row.id, this.kind.open(row.stored, this.custody.open(row.stored)));
    }
  }

  plan(now: Date, rows: readonly Row[] = this.rows): KeyPlan<Row> {
    return planKeys(rows, now, { periodSeconds: this.kind.periodSeconds, algorithm: this.kind.algorithm });
  }

  /** `plan(now)` for the rows installed, kept until the next key change */
  private planNow(now: Date): KeyPlan<Row> {
    const t = now.getTime();
    const kept = this.kept;
    if (kept && kept.rows === this.rows && t >= kept.from && t < kept.until) return kept.plan;
    const plan = this.plan(now);
    this.kept = { rows: this.rows, from: t, until: nextKeyChange(this.rows, now), plan };
    return plan;
  }

  /** The key that signs now, with its schedule. */
  current(now: Date): { key: Opened; notAfter: Date } | undefined {
    const row = this.planNow(now).current;
    const key = row && this.opened.get(row.id);
    return key && { key, notAfter: row.notAfter };
  }

  /** The published keys: the signing one, the next one, then the retired ones still valid. */
  published(now: Date): Opened[] {
    return this.planNow(now)
      .published.map((row) => this.opened.get(row.id))
      .filter((key): key is Opened => key !== undefined);
  }

  /** How many keys are stored, and how many of them are past their notAfter. */
  counts(now: Date): { stored: number; expired: number } {
    return {
      stored: this.rows.length,
      expired: this.rows.filter((row) => row.notAfter.getTime() <= now.getTime()).length,
    };
  }

  private async load(): Promise<Row[]> {
    return (await this.custody.store.byPurpose(this.kind.purpose)).map((stored) => ({
      id: stored.id,
      algorithm: stored.algorithm,
      activatesAt: stored.notBefore,
      notAfter: stored.notAfter,
      stored,
    }));
  }

  /**
   * The first key of an algorithm has a fixed id, so replicas starting
   * together on an empty database make one key between them; later ones are
   * named by the time they activate, which every replica computes alike.
   */
  private newKeyId(rows: readonly Row[], activatesAt: Date): string {
    const existing = rows.filter((row) => row.algorithm === this.kind.algorithm);
    return existing.length === 0 ? `${this.kind.idPrefix}/1` : `${this.kind.idPrefix}/${activatesAt.getTime()}`;
  }
}
