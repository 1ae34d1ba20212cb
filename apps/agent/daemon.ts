import { setTimeout as delay } from 'node:timers/promises';
import { errorMessage } from '@libs/cli-support/errors';
import { AgentApiError, isRefusal, type SvidApi } from './client';
import { writeSvidFiles, type SvidMaterial, type WrittenFiles } from './files';
import { readHeldSvid, svidFacts, type HeldSvid } from './held-svid';
import { generateAgentKey, leafMatchesKey, type AgentKey } from './keys';
import type { LoginSummary } from './login';
import { signProofOfPossession } from './proof-of-possession';
import { logInAgain } from './relogin';
import { DEFAULT_BACKOFF, nextStep, renewalTime, type BackoffSettings } from './renewal-schedule';
import type { AgentState } from './state';
import { DaemonStopped } from './stopped';
import { NO_TELEMETRY, type RenewalRecorder } from './telemetry';

export { DaemonStopped };

/** Time as the daemon sees it; tests pass one they step by hand. */
export interface DaemonClock {
  /** epoch ms */
  now(): number;
  /** resolves after `ms`, or at once when `signal` aborts (never rejects) */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The JSON-lines logger (pino's call shape); nothing logged holds key material. */
export interface DaemonLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface DaemonDeps {
  client: SvidApi;
  log: DaemonLog;
  clock: DaemonClock;
  /** [0, 1), for the backoff's jitter */
  random: () => number;
  generateKey: () => Promise<AgentKey>;
  writeFiles: (dir: string, material: SvidMaterial) => Promise<WrittenFiles>;
  renewals: RenewalRecorder;
  backoff: BackoffSettings;
  /**
   * A new login with fresh proofs that writes the files (`runLogin`), for
   * when the SVID can no longer renew (`relogin.ts`). Without it the daemon
   * stops there instead.
   */
  login?: () => Promise<LoginSummary>;
}

export interface DaemonOptions {
  out: string;
  signal: AbortSignal;
  /** who the agent is (`agent.json`), when known: whether it may log in again by itself */
  agent?: AgentState;
}

/** setTimeout's limit; SVIDs live at most 24 h, so a longer wait only comes from a clock far off. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const SYSTEM_CLOCK: DaemonClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(Math.min(Math.max(0, ms), MAX_TIMER_MS), undefined, { signal }).catch(() => undefined),
};

/** A renewal answer the agent must not use; renewing again would not help. */
class UnusableRenewal extends Error {}

/**
 * The renewing agent (`--daemon`): from the SVID and key in `out`, renews
 * at half-life with a fresh key each time and rewrites the files; retries
 * failures with jittered exponential backoff. When the SVID can no longer
 * renew (it expired, or attestd evicted the agent) it logs in again through
 * `deps.login` (`relogin.ts`). Resolves when `signal` aborts (SIGTERM,
 * SIGINT); throws DaemonStopped when attestd refuses the agent for good
 * (banned, proof refused) or it cannot log in again by itself.
 */
export async function runDaemon(
  options: DaemonOptions,
  deps: Partial<DaemonDeps> & Pick<DaemonDeps, 'client' | 'log'>,
): Promise<void> {
  const {
    client,
    log,
    clock = SYSTEM_CLOCK,
    random = Math.random,
    generateKey = generateAgentKey,
    writeFiles = writeSvidFiles,
    renewals = NO_TELEMETRY,
    backoff = DEFAULT_BACKOFF,
    login,
  } = deps;
  const { out, signal } = options;
  let held = await readHeldSvid(out);
  let agent = options.agent;
  /** a renewed SVID not yet on disk: the next attempt writes it instead of renewing */
  let unwritten: SvidMaterial | undefined;
  let failures = 0;
  let lastFailure: { message: string; retryAfterSeconds?: number } | undefined;
  log.info({ ...describe(held), ...(agent && { agentId: agent.agentId }), out }, 'Renewing SVID at half-life');

  /** Logs in anew in place of the SVID that can no longer renew; false when stopped meanwhile. */
  const replaceByLogin = async (why: string): Promise<boolean> => {
    if (!login) return false;
    const summary = await logInAgain(why, agent, { login, log, clock, random, backoff, signal });
    if (!summary) return false;
    held = await readHeldSvid(out);
    agent = { agentId: summary.agentId, spiffeId: summary.spiffeId, reattestable: summary.reattestable };
    unwritten = undefined;
    failures = 0;
    lastFailure = undefined;
    log.info({ ...describe(held), agentId: agent.agentId, reattestable: agent.reattestable }, 'Logged in again');
    return true;
  };

  while (!signal.aborted) {
    const step = nextStep({
      now: clock.now(),
      validity: held.validity,
      failures,
      random: random(),
      backoff,
      ...(lastFailure?.retryAfterSeconds !== undefined && { retryAfterSeconds: lastFailure.retryAfterSeconds }),
    });
    await clock.sleep(step.waitMs, signal);
    if (signal.aborted) break;
    // the time on waking decides, not the plan: a suspended machine or a clock step may wake it past expiry
    if (clock.now() >= held.validity.notAfter) {
      const why = `the SVID expired at ${iso(held.validity.notAfter)}${lastFailure ? ` before it could be renewed (last error: ${lastFailure.message})` : ''}`;
      log.error(
        { spiffeId: held.spiffeId, serial: held.serial, expiresAt: iso(held.validity.notAfter) },
        'SVID expired before it could be renewed',
      );
      if (!login) throw new DaemonStopped(`daemon: ${why}; log in again`);
      if (!(await replaceByLogin(why))) break;
      continue;
    }
    if (step.then === 'expire') continue; // woke before the expiry it waited for
    try {
      if (unwritten === undefined) {
        const renewed = await renewOnce(held, client, generateKey, clock);
        held = renewed.held;
        unwritten = renewed.material;
        renewals.renewal('success');
        log.info(describe(held), 'SVID renewed');
      }
      await writeFiles(out, unwritten);
      unwritten = undefined;
      failures = 0;
      lastFailure = undefined;
    } catch (error) {
      if (unwritten === undefined) renewals.renewal('failed');
      const message = errorMessage(error);
      if (login && error instanceof AgentApiError && error.code === 'agent_evicted') {
        // an operator freed the node to attest again (or a new login of it superseded this agent)
        if (!(await replaceByLogin(`attestd evicted agent ${agent?.agentId ?? held.spiffeId}`))) break;
        continue;
      }
      if (isPermanent(error)) {
        log.error({ spiffeId: held.spiffeId, serial: held.serial, error: message }, 'SVID renewal refused; stopping');
        // attestd's detail says what to do (log in again, ask an operator); an unusable answer says it here
        const advice = error instanceof UnusableRenewal ? '; log in again' : '';
        throw new DaemonStopped(`daemon: stopped renewing: ${message}${advice}`, { cause: error });
      }
      failures += 1;
      lastFailure = {
        message,
        ...(error instanceof AgentApiError &&
          error.retryAfterSeconds !== undefined && { retryAfterSeconds: error.retryAfterSeconds }),
      };
      log.warn(
        { spiffeId: held.spiffeId, serial: held.serial, failures, error: message },
        unwritten ? 'Writing the renewed SVID failed; retrying' : 'SVID renewal failed; retrying',
      );
    }
  }
  log.info({ spiffeId: held.spiffeId, serial: held.serial }, 'Renewing agent stopped');
}

/** One `POST /v1/agent/renew` with a fresh key, its answer checked before anything is written. */
async function renewOnce(
  held: HeldSvid,
  client: SvidApi,
  generateKey: () => Promise<AgentKey>,
  clock: DaemonClock,
): Promise<{ held: HeldSvid; material: SvidMaterial }> {
  const key = await generateKey();
  const pop = await signProofOfPossession(held.privateKey, 'attestd-renew', { nowMs: clock.now(), csrPem: key.csrPem });
  const answer = await client.renew({ certChain: held.certChain, csr: key.csrPem, pop });
  if (!(await leafMatchesKey(answer.svid.certChain, key.keyPair.publicKey).catch(() => false))) {
    throw new UnusableRenewal("renew: the server returned an SVID for another key than the CSR's");
  }
  const facts = svidFacts(answer.svid.certChain);
  if (facts.spiffeId !== held.spiffeId) {
    throw new UnusableRenewal(`renew: the server returned an SVID for ${facts.spiffeId}, not ${held.spiffeId}`);
  }
  return {
    held: { ...facts, certChain: answer.svid.certChain, privateKey: key.keyPair.privateKey },
    material: { certChain: answer.svid.certChain, privateKeyPem: key.privateKeyPem, bundle: answer.bundle },
  };
}

/**
 * Refusals that retrying cannot change: 4xx answers (evicted, banned, a
 * proof attestd will not accept) other than 408 and 429, and unusable
 * answers. Unreachable servers, 5xx, 429 and file errors are retried.
 */
function isPermanent(error: unknown): boolean {
  return error instanceof UnusableRenewal || isRefusal(error);
}

function describe(held: HeldSvid) {
  return {
    spiffeId: held.spiffeId,
    serial: held.serial,
    expiresAt: iso(held.validity.notAfter),
    renewAt: iso(renewalTime(held.validity)),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
