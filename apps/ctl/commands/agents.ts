import type { Agent, Page } from '@libs/contracts/admin-api';
import type { Command } from '../cli';
import { isJson, printJson, type Context } from '../context';
import { CommandFailed } from '../errors';
import { clean, formatTime, orDash, renderTable } from '../table';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/** The server's largest page (`list-query.ts`): fewer round trips for a long list. */
export const PAGE_SIZE = 500;
/** A server that keeps answering with a cursor is broken; stop long before memory runs out. */
const MAX_PAGES = 10_000;

/** `agents list [--status S] [--attestor A]`: every page, following nextCursor. */
export async function agentsList(context: Context, command: Of<'agents list'>): Promise<void> {
  const agents = await allPages((cursor) =>
    context.client.listAgents({
      limit: PAGE_SIZE,
      ...(command.status && { status: command.status }),
      ...(command.attestor && { attestor: command.attestor }),
      ...(cursor && { cursor }),
    }),
  );
  if (isJson(context)) return printJson(context, { items: agents });
  context.io.stdout(
    renderTable(
      ['ID', 'STATUS', 'POLICY', 'SPIFFE ID', 'LAST SEEN'],
      agents.map((a) => [a.id, a.status, orDash(a.policy), a.spiffeId, formatTime(a.lastSeenAt)]),
    ),
  );
}

/** `agents show ID` */
export async function agentsShow(context: Context, command: Of<'agents show'>): Promise<void> {
  const agent = await context.client.getAgent(command.id);
  if (isJson(context)) return printJson(context, agent);
  context.io.stdout(describeAgent(agent));
}

const DONE: Record<Of<'agents change'>['change'], string> = { evict: 'evicted', ban: 'banned', unban: 'unbanned' };

/** `agents evict|ban|unban ID` */
export async function agentsChange(context: Context, command: Of<'agents change'>): Promise<void> {
  const agent = await context.client.changeAgent(command.id, command.change);
  if (isJson(context)) return printJson(context, agent);
  context.io.stdout(`agent ${clean(agent.id)} ${DONE[command.change]} (status ${clean(agent.status)})\n`);
}

/** Fetches pages until the server gives no next cursor. */
export async function allPages<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await fetchPage(cursor);
    items.push(...(Array.isArray(answer.items) ? answer.items : []));
    if (typeof answer.nextCursor !== 'string' || answer.nextCursor === '') return items;
    if (seen.has(answer.nextCursor))
      throw new CommandFailed('the server answered with the same page cursor twice; stopping');
    seen.add(answer.nextCursor);
    cursor = answer.nextCursor;
  }
  throw new CommandFailed(`the server kept answering with more pages after ${MAX_PAGES}; stopping`);
}

/** One agent, a field a line, as `kubectl describe` does. */
export function describeAgent(agent: Agent): string {
  const rows: [string, string | string[]][] = [
    ['ID', agent.id],
    ['SPIFFE ID', agent.spiffeId],
    ['STATUS', agent.status],
    ['POLICY', orDash(agent.policy)],
    ['ATTESTORS', agent.attestorTypes ?? []],
    ['TOFU KEYS', agent.tofuKeys ?? []],
    ['FIRST ATTESTED', formatTime(agent.firstAttestedAt)],
    ['LAST SEEN', formatTime(agent.lastSeenAt)],
    ['SVID SERIAL', orDash(agent.svidSerial)],
    ['SVID EXPIRES', formatTime(agent.svidExpiresAt)],
    ['SELECTORS', agent.selectors ?? []],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines: string[] = [];
  for (const [label, value] of rows) {
    const values = Array.isArray(value) ? (value.length > 0 ? value : ['-']) : [value];
    values.forEach((v, i) => lines.push(`${(i === 0 ? `${label}:` : '').padEnd(width)}${clean(v)}`));
  }
  const attributes = Object.entries(agent.attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  lines.push(`ATTRIBUTES:${attributes.length === 0 ? `${' '.repeat(width - 'ATTRIBUTES:'.length)}-` : ''}`);
  if (attributes.length > 0) {
    const rowsOut = attributes.flatMap(([name, values]) =>
      (Array.isArray(values) ? values : [String(values)]).map((v) => [name, v]),
    );
    lines.push(
      ...renderTable(['NAME', 'VALUE'], rowsOut, { header: false })
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`),
    );
  }
  return `${lines.join('\n')}\n`;
}
