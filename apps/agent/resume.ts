import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errorMessage } from '@libs/cli-support/errors';
import { FILE_NAMES } from './files';
import { readHeldSvid, type HeldSvid } from './held-svid';
import { finishInterruptedWrite, type Recovery } from './recovery';
import { readAgentState, type AgentState } from './state';

/** What a restarted `login --daemon` found in `--out`. */
export type Resumption =
  /** an SVID and key that belong together (perhaps expired: the daemon then logs in again) */
  | { kind: 'resume'; held: HeldSvid; agent?: AgentState; recovery: Recovery; warnings: string[] }
  /** nothing to resume from: the daemon logs in first */
  | { kind: 'login'; recovery: Recovery; warnings: string[] };

/**
 * Reads what a previous run left in `out`, as a restarted SPIRE agent reads
 * its data directory: first finishing a write a crash cut short
 * (`recovery.ts`), then the SVID and key, then `agent.json`. Files that
 * cannot be used (a key the certificate does not certify, a state file that
 * is not ours, one for another SPIFFE ID) are reported in `warnings` and
 * left for the login to replace; they never stop the agent.
 */
export async function resumeFrom(out: string): Promise<Resumption> {
  const dir = resolve(out);
  const recovery = await finishInterruptedWrite(dir);
  const warnings: string[] = [];
  if (!(await exists(join(dir, FILE_NAMES.svid)))) return { kind: 'login', recovery, warnings };
  let held: HeldSvid;
  try {
    held = await readHeldSvid(dir);
  } catch (error) {
    warnings.push(`cannot resume from ${dir}: ${errorMessage(error)}; logging in`);
    return { kind: 'login', recovery, warnings };
  }
  let agent: AgentState | undefined;
  try {
    agent = await readAgentState(dir);
  } catch (error) {
    warnings.push(`${errorMessage(error)}; the agent ID is unknown until the next login`);
  }
  if (agent && agent.spiffeId !== held.spiffeId) {
    warnings.push(
      `${join(dir, FILE_NAMES.state)} is for ${agent.spiffeId}, not ${held.spiffeId}; the agent ID is unknown until the next login`,
    );
    agent = undefined;
  }
  return { kind: 'resume', held, ...(agent && { agent }), recovery, warnings };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
