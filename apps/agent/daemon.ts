import { setTimeout as delay } from 'node:timers/promises';
import { errorMessage } from '../../libs/cli-support/errors';
import { AgentApiError, type SvidApi } from './client';
import { writeSvidFiles, type SvidMaterial, type WrittenFiles } from './files';
import { readHeldSvid, svidFacts, type HeldSvid } from './held-svid';
import { generateAgentKey, leafMatchesKey, type AgentKey } from './keys';
import { signProofOfPossession } from './proof-of-possession';
import { DEFAULT_BACKOFF, nextStep, renewalTime, type BackoffSettings } from './renewal-schedule';
import { NO_TELEMETRY, type RenewalRecorder } from './telemetry';

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
}

/** setTimeout's limit; SVIDs live at most 24 h, so a longer wait only comes from a clock far off. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const SYSTEM_CLOCK: DaemonClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(Math.min(Math.max(0, ms), MAX_TIMER_MS), undefined, { signal }).catch(() => undefined),
};

/** The daemon gave up: attestd refused the agent for good, or the SVID ran out. The node must log in again. */
export class DaemonStopped extends Error {
  override readonly name = 'DaemonStopped';
}

/** A renewal answer the agent must not use; renewing again would not help. */
class UnusableRenewal extends Error {}

/**
 * The renewing agent (`--daemon`): from the SVID and key in `out`, renews
 * at half-life with a fresh key each time and rewrites the files; retries
 * failures with jittered exponential backoff. Resolves when `signal`
 * aborts (SIGTERM, SIGINT); throws DaemonStopped when attestd refuses the
 * agent for good (evicted, banned, proof refused) or the SVID expires.
 */
export async function runDaemon(options: { out: string; signal: AbortSignal }, deps: Partial<DaemonDeps> & Pick<DaemonDeps, 'client' | 'log'>): Promise<void> {
  const { client, log, clock = SYSTEM_CLOCK, random = Math.random, generateKey = generateAgentKey, writeFiles = writeSvidFiles, renewals = NO_TELEMETRY, backoff = DEFAULT_BACKOFF } = deps;
  const { out, signal } = options;
  let held = await readHeldSvid(out);
  /** a renewed SVID not yet on disk: the next attempt writes it instead of renewing */
  let unwritten: SvidMaterial | undefined;
  let failures = 0;
  let lastFailure: { message: string; retryAfterSeconds?: number } | undefined;
  log.info({ ...describe(held), out }, 'Renewing SVID at half-life');

  while (!signal.aborted) {
    const step = nextStep({ now: clock.now(), validity: held.validity, failures, random: random(), backoff, ...(lastFailure?.retryAfterSeconds !== undefined && { retryAfterSeconds: lastFailure.retryAfterSeconds }) });
    await clock.sleep(step.waitMs, signal);
    if (signal.aborted) break;
    if (step.then === 'expire') {
      const why = lastFailure ? ` (last error: ${lastFailure.message})` : '';
      log.error({ spiffeId: held.spiffeId, serial: held.serial, expiresAt: iso(held.validity.notAfter) }, 'SVID expired before it could be renewed');
      throw new DaemonStopped(`daemon: the SVID expired at ${iso(held.validity.notAfter)} before it could be renewed${why}; log in again`);
    }
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
      if (isPermanent(error)) {
        log.error({ spiffeId: held.spiffeId, serial: held.serial, error: message }, 'SVID renewal refused; stopping');
        // attestd's detail says what to do (log in again, ask an operator); an unusable answer says it here
        const advice = error instanceof UnusableRenewal ? '; log in again' : '';
        throw new DaemonStopped(`daemon: stopped renewing: ${message}${advice}`, { cause: error });
      }
      failures += 1;
      lastFailure = { message, ...(error instanceof AgentApiError && error.retryAfterSeconds !== undefined && { retryAfterSeconds: error.retryAfterSeconds }) };
      log.warn({ spiffeId: held.spiffeId, serial: held.serial, failures, error: message }, unwritten ? 'Writing the renewed SVID failed; retrying' : 'SVID renewal failed; retrying');
    }
  }
  log.info({ spiffeId: held.spiffeId, serial: held.serial }, 'Renewing agent stopped');
}

/** One `POST /v1/agent/renew` with a fresh key, its answer checked before anything is written. */
async function renewOnce(held: HeldSvid, client: SvidApi, generateKey: () => Promise<AgentKey>, clock: DaemonClock): Promise<{ held: HeldSvid; material: SvidMaterial }> {
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
  if (error instanceof UnusableRenewal) return true;
  if (!(error instanceof AgentApiError)) return false;
  return error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

function describe(held: HeldSvid) {
  return { spiffeId: held.spiffeId, serial: held.serial, expiresAt: iso(held.validity.notAfter), renewAt: iso(renewalTime(held.validity)) };
}

const iso = (ms: number) => new Date(ms).toISOString();
