import { Client } from 'pg';
import type { DatabaseTarget } from './database';

/** The channel a configuration push notifies, in the same transaction as its insert. */
export const CONFIG_CHANNEL = 'attestd_config';

/** What a push announces: the section and the version it stored. */
export interface ConfigNotice {
  section: string;
  version: number;
}

export interface ConfigNoticeHandlers {
  /** a replica pushed a version (delivered only after its transaction committed) */
  onNotice(notice: ConfigNotice): void;
  /**
   * LISTEN is in place, at first or after a reconnect. Notices sent while the
   * connection was down are lost, so the caller catches up here.
   */
  onListening(): void;
  /** the connection failed or dropped; a reconnect is scheduled after `retryInMs` */
  onLost(error: Error, retryInMs: number): void;
}

export interface ConfigNoticeListener {
  /** true while LISTEN is in place on a live connection */
  readonly listening: boolean;
  /** stops listening and reconnecting; never waits on a hung connection */
  close(): Promise<void>;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000 };
/** close() gives a connection this long to say goodbye before it stops waiting */
const CLOSE_GRACE_MS = 1000;

/**
 * Listens for configuration pushes of other replicas on a dedicated
 * connection (a pooled one would be handed to other queries and lose the
 * LISTEN). On PostgreSQL it reconnects with exponential backoff whenever the
 * connection drops. Embedded PGlite belongs to one process, which activates
 * its own pushes, so there is nothing to listen for: the listener there is
 * inert and reports `listening: false`.
 */
export function listenForConfigNotices(
  target: DatabaseTarget,
  handlers: ConfigNoticeHandlers,
  backoff: BackoffOptions = DEFAULT_BACKOFF,
): ConfigNoticeListener {
  if (target.kind !== 'postgres') return { listening: false, close: async () => undefined };
  return new PostgresNoticeListener(target.url, handlers, backoff);
}

class PostgresNoticeListener implements ConfigNoticeListener {
  private client: Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  listening = false;

  constructor(
    private readonly url: string,
    private readonly handlers: ConfigNoticeHandlers,
    private readonly backoff: BackoffOptions,
  ) {
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await Promise.race([client.end().catch(() => undefined), delay(CLOSE_GRACE_MS)]);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    // keepAlive: a peer that vanished without a FIN is noticed and replaced
    const client = new Client({ connectionString: this.url, keepAlive: true, connectionTimeoutMillis: 10_000 });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel !== CONFIG_CHANNEL) return;
      const notice = parseNotice(message.payload);
      if (notice) this.handlers.onNotice(notice);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${CONFIG_CHANNEL}`);
    } catch (error) {
      this.lost(client, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.closed || this.client !== client) return;
    this.failures = 0;
    this.listening = true;
    this.handlers.onListening();
  }

  /** Drops a failed connection once and schedules the next attempt. */
  private lost(client: Client, error: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.listening = false;
    client.end().catch(() => undefined);
    const retryInMs = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.failures);
    this.failures++;
    this.handlers.onLost(error, retryInMs);
    this.retryTimer = setTimeout(() => void this.connect(), retryInMs);
    this.retryTimer.unref();
  }
}

/** The payload is ours, but a malformed one must not throw inside the driver's event handler. */
export function parseNotice(payload: string | undefined): ConfigNotice | undefined {
  try {
    const parsed = JSON.parse(payload ?? '') as Partial<ConfigNotice>;
    if (typeof parsed.section === 'string' && Number.isInteger(parsed.version))
      return { section: parsed.section, version: parsed.version! };
  } catch {
    // fall through: ignored, the periodic version check still catches up
  }
  return undefined;
}

export function noticePayload(notice: ConfigNotice): string {
  return JSON.stringify({ section: notice.section, version: notice.version });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
