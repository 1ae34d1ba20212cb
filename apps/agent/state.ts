import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errorMessage } from '@libs/cli-support/errors';
import { FILE_NAMES } from './files';

/**
 * What the agent keeps about itself besides its SVID (`agent.json` in
 * `--out`, written with the files of each login): which agent attestd made
 * of this node, and whether it may log in again by itself when its SVID can
 * no longer renew (the login answer's `reattestable`, SPIRE's "can
 * reattest"). A restarted daemon needs both and can learn neither from the
 * certificate.
 */
export interface AgentState {
  agentId: string;
  spiffeId: string;
  reattestable: boolean;
}

/** the file holds three short fields; anything longer is not ours */
const MAX_STATE_BYTES = 4096;

export function serializeAgentState(state: AgentState): string {
  return `${JSON.stringify({ agentId: state.agentId, spiffeId: state.spiffeId, reattestable: state.reattestable }, null, 2)}\n`;
}

/** Parses `agent.json`; undefined when the text is not one. */
export function parseAgentState(text: string): AgentState | undefined {
  if (text.length > MAX_STATE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { agentId, spiffeId, reattestable } = value as Record<string, unknown>;
  if (typeof agentId !== 'string' || !/^[0-9a-f-]{36}$/.test(agentId)) return undefined;
  if (typeof spiffeId !== 'string' || !spiffeId.startsWith('spiffe://')) return undefined;
  if (typeof reattestable !== 'boolean') return undefined;
  return { agentId, spiffeId, reattestable };
}

/**
 * The state in `dir`: undefined when there is none (a directory an older
 * agent wrote); throws, naming the file, when it is unreadable or not ours.
 */
export async function readAgentState(dir: string): Promise<AgentState | undefined> {
  const path = join(resolve(dir), FILE_NAMES.state);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${errorMessage(error)}`, { cause: error });
  }
  const state = parseAgentState(text);
  if (!state) throw new Error(`cannot use ${path}: not an agent state file (agentId, spiffeId, reattestable)`);
  return state;
}
