import { errorMessage } from '@libs/cli-support/errors';
import { AgentApiError, isRefusal } from './client';
import type { DaemonClock, DaemonLog } from './daemon';
import type { LoginSummary } from './login';
import { backoffDelay, type BackoffSettings } from './renewal-schedule';
import type { AgentState } from './state';
import { DaemonStopped } from './stopped';

export interface ReloginDeps {
  /** one login with fresh proofs, writing the files and `agent.json` (`runLogin`) */
  login: () => Promise<LoginSummary>;
  log: DaemonLog;
  clock: DaemonClock;
  random: () => number;
  backoff: BackoffSettings;
  signal: AbortSignal;
}

/**
 * Logs the agent in again with fresh proofs, once its SVID can no longer
 * renew (`why`: it expired, attestd evicted the agent). An agent the last
 * login called reattestable (`agent.json`) keeps trying through outages
 * with the renewals' backoff, as a renewal would; any other (TOFU, a join
 * token, or a directory without `agent.json`) tries once, which succeeds
 * only when an operator evicted it meanwhile. Returns the new login, or
 * undefined when `signal` stopped it; throws DaemonStopped when it cannot
 * log in by itself, naming the `attestctl agents evict` command when a TOFU
 * record is in the way.
 */
export async function logInAgain(
  why: string,
  agent: AgentState | undefined,
  deps: ReloginDeps,
): Promise<LoginSummary | undefined> {
  const { login, log, clock, random, backoff, signal } = deps;
  const reattestable = agent?.reattestable === true;
  log.warn({ agentId: agent?.agentId, spiffeId: agent?.spiffeId, reattestable, reason: why }, 'Logging in again');
  for (let failures = 1; ; failures++) {
    try {
      return await login();
    } catch (error) {
      const message = errorMessage(error);
      if (error instanceof AgentApiError && error.code === 'node_already_attested') {
        log.error({ agentId: agent?.agentId, error: message }, 'Cannot log in again: the node is known (TOFU)');
        throw new DaemonStopped(evictAdvice(why, agent, error), { cause: error });
      }
      if (!reattestable || isRefusal(error)) {
        log.error({ agentId: agent?.agentId, error: message }, 'Logging in again failed; stopping');
        throw new DaemonStopped(`daemon: ${why}; logging in again failed: ${message}`, { cause: error });
      }
      log.warn({ failures, error: message }, 'Logging in again failed; retrying');
      const serverAsked = error instanceof AgentApiError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
      await clock.sleep(Math.max(backoffDelay(failures, random(), backoff), serverAsked), signal);
      if (signal.aborted) return undefined;
    }
  }
}

/**
 * The one line for a node whose TOFU record stands in the way: the agent
 * that holds it, as attestd names it (the `agent.json` one otherwise), and
 * the command that frees it.
 */
function evictAdvice(why: string, agent: AgentState | undefined, error: AgentApiError): string {
  const holder = /as agent ([0-9a-f-]{36})/.exec(error.detail)?.[1] ?? agent?.agentId ?? '<agent id>';
  return `daemon: ${why}, and this node attested with TOFU, so it cannot log in again by itself: an operator must run 'attestctl agents evict ${holder}' (attestd: ${error.status} ${error.code}); the agent then logs in at its next start`;
}
