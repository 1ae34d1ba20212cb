import type { AuditEvent, AuditQuery } from '@libs/contracts/admin-api';
import type { Command, Since } from '../cli';
import { AdminApiError, ServerUnreachableError } from '../client';
import { isJson, type Context } from '../context';
import { errorMessage } from '../errors';
import { formatTime, orDash, renderTable, type Column } from '../table';
import { PAGE_SIZE, allPages } from './agents';

type AuditList = Extract<Command, { name: 'audit list' }>;

const COLUMNS: Column[] = [
  { header: 'AT' },
  { header: 'EVENT' },
  { header: 'OUTCOME' },
  { header: 'CODE' },
  { header: 'AGENT' },
  { header: 'REASON', max: 160 },
];

/** With --follow, rows come in batches: fixed widths (most values fit) keep them in line. */
const FOLLOW_COLUMNS: Column[] = [
  { header: 'AT', width: 20 },
  { header: 'EVENT', width: 18 },
  { header: 'OUTCOME', width: 7 },
  { header: 'CODE', width: 22 },
  { header: 'AGENT', width: 36 },
  { header: 'REASON', max: 160 },
];

/**
 * `audit list`: the newest `--limit` events matching the filters, printed
 * oldest first; `--follow` then polls for newer ones until interrupted.
 * JSON: `{ items }` newest first as the API gives them, or with --follow one
 * event a line, oldest first.
 */
export async function auditList(context: Context, command: AuditList): Promise<void> {
  const filters = filtersOf(command, context.hooks.now());
  const newest = await newestEvents(context, filters, command.limit);
  if (!command.follow) {
    if (isJson(context)) return void context.io.stdout(`${JSON.stringify({ items: newest }, null, 2)}\n`);
    return void context.io.stdout(renderTable(COLUMNS, newest.slice().reverse().map(row)));
  }
  const follower = new Follower(context, filters);
  follower.print(newest, true);
  await follower.run();
}

export function resolveSince(since: Since | undefined, now: Date): string | undefined {
  if (since === undefined) return undefined;
  if ('at' in since) return since.at;
  return new Date(now.getTime() - since.agoSeconds * 1000).toISOString();
}

function filtersOf(command: AuditList, now: Date): AuditQuery {
  const since = resolveSince(command.since, now);
  return {
    ...(command.outcome && { outcome: command.outcome }),
    ...(command.attestor && { attestor: command.attestor }),
    ...(command.agentId && { agentId: command.agentId }),
    ...(since && { since }),
  };
}

/** Newest first, at most `limit`, across as many pages as that takes. */
async function newestEvents(context: Context, filters: AuditQuery, limit: number): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let cursor: string | undefined;
  while (events.length < limit) {
    const page = await context.client.listAudit({
      ...filters,
      limit: Math.min(PAGE_SIZE, limit - events.length),
      ...(cursor && { cursor }),
    });
    events.push(...page.items);
    if (!page.nextCursor || page.nextCursor === cursor) break;
    cursor = page.nextCursor;
  }
  return events.slice(0, limit);
}

function row(event: AuditEvent): string[] {
  return [
    formatTime(event.at),
    event.event,
    event.outcome,
    orDash(event.code),
    orDash(event.agentId),
    orDash(event.reason),
  ];
}

/**
 * Polls `GET /v1/audit?since=<newest seen>` and prints the events it has not
 * printed. `since` is inclusive, so events sharing the newest time come back
 * and are skipped by id; ids older than the watermark are forgotten.
 */
class Follower {
  private readonly seen = new Map<string, string>();
  private watermark: string | undefined;
  private headerDone = false;

  constructor(
    private readonly context: Context,
    private readonly filters: AuditQuery,
  ) {
    this.watermark = filters.since === undefined ? undefined : new Date(filters.since).toISOString();
  }

  async run(): Promise<void> {
    const { hooks } = this.context;
    for (let poll = 0; hooks.maxPolls === undefined || poll < hooks.maxPolls; poll++) {
      if (hooks.signal?.aborted) return;
      await hooks.sleep(hooks.pollIntervalMs, hooks.signal);
      if (hooks.signal?.aborted) return;
      try {
        const events = await allPages((cursor) =>
          this.context.client.listAudit({
            ...this.filters,
            ...(this.watermark && { since: this.watermark }),
            limit: PAGE_SIZE,
            ...(cursor && { cursor }),
          }),
        );
        this.print(events, false);
      } catch (error) {
        // An outage is waited out; anything the server refuses (401, 400) is not going to change.
        const transient =
          error instanceof ServerUnreachableError || (error instanceof AdminApiError && error.status >= 500);
        if (!transient) throw error;
        this.context.io.stderr(`attestctl: warning: ${errorMessage(error)}; retrying\n`);
      }
    }
  }

  print(events: readonly AuditEvent[], initial: boolean): void {
    const fresh = events.filter((e) => !this.seen.has(e.id)).sort(byId);
    for (const event of fresh) {
      this.seen.set(event.id, event.at);
      if (this.watermark === undefined || Date.parse(event.at) > Date.parse(this.watermark)) this.watermark = event.at;
    }
    const mark = this.watermark === undefined ? undefined : Date.parse(this.watermark);
    for (const [id, at] of this.seen) if (mark !== undefined && Date.parse(at) < mark) this.seen.delete(id);
    if (isJson(this.context)) {
      for (const event of fresh) this.context.io.stdout(`${JSON.stringify(event)}\n`);
      return;
    }
    if (fresh.length === 0 && !initial) return;
    this.context.io.stdout(renderTable(FOLLOW_COLUMNS, fresh.map(row), { header: !this.headerDone }));
    this.headerDone = true;
  }
}

function byId(a: AuditEvent, b: AuditEvent): number {
  const x = toBigInt(a.id);
  const y = toBigInt(b.id);
  return x < y ? -1 : x > y ? 1 : 0;
}

function toBigInt(id: string): bigint {
  return /^\d{1,30}$/.test(id) ? BigInt(id) : 0n;
}
