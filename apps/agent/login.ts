import { AgentClient, type AgentApi } from './client';
import { errorMessage } from '@libs/cli-support/errors';
import { writeSvidFiles, type SvidMaterial, type WrittenFiles } from './files';
import { generateAgentKey, leafMatchesKey, type AgentKey } from './keys';
import type { ProofCollector } from './proofs/collector';
import { createCollector, type CollectorSettings } from './proofs/index';
import { serializeAgentState } from './state';
import { NO_TELEMETRY, type ProofRecorder } from './telemetry';

/** What `attestd-agent login` does, as a value; the CLI builds it from flags. */
export interface LoginOptions extends CollectorSettings {
  /** attestd base URL */
  server: string;
  /** attestor types to offer, in order (`providedMethods`) */
  attestors: string[];
  /** directory for svid.pem, svid.key, bundle.pem */
  out: string;
  /** per HTTP request; default 30 s */
  timeoutMs?: number;
}

/** Seams for tests; each defaults to the real thing. */
export interface LoginDeps {
  client: AgentApi;
  createCollector: (name: string, settings: CollectorSettings) => ProofCollector;
  generateKey: () => Promise<AgentKey>;
  writeFiles: (dir: string, material: SvidMaterial) => Promise<WrittenFiles>;
  /** counts each proof collected or not (`attestd.agent.proofs`) */
  proofs: ProofRecorder;
}

export interface LoginSummary {
  agentId: string;
  spiffeId: string;
  policy: string;
  /** the SVID's expiry, as the server sent it */
  expiresAt: string;
  /** whether the agent may log in again by itself once this SVID can no longer renew */
  reattestable: boolean;
  files: WrittenFiles;
}

/** The login could not proceed for a reason on the agent's side (a proof, the server's answer). */
export class LoginError extends Error {
  override readonly name = 'LoginError';
}

/**
 * One login (`api.md`): start with the offered attestors, collect the
 * proofs the server requires (each with its challenge), make a new key and
 * CSR, complete, check the SVID certifies that key, and write the files.
 * Throws (CollectorSettingsError, AgentApiError, ServerUnreachableError,
 * LoginError, file errors); never exits the process.
 */
export async function runLogin(options: LoginOptions, deps: Partial<LoginDeps> = {}): Promise<LoginSummary> {
  const client = deps.client ?? new AgentClient({ server: options.server, timeoutMs: options.timeoutMs });
  const build = deps.createCollector ?? createCollector;
  const generateKey = deps.generateKey ?? generateAgentKey;
  const writeFiles = deps.writeFiles ?? writeSvidFiles;
  const recorder = deps.proofs ?? NO_TELEMETRY;

  if (options.attestors.length === 0) throw new LoginError('login: no attestor given');
  // Built before contacting the server, so bad settings fail without a round trip.
  const collectors = new Map(options.attestors.map((name) => [name, build(name, options)] as const));

  const login = await client.startLogin([...collectors.keys()]);
  const unoffered = login.requiredAttestors.filter((type) => !collectors.has(type));
  if (unoffered.length > 0) {
    throw new LoginError(`login: server requires attestors that were not offered: ${unoffered.join(', ')}`);
  }
  // Only the proofs some candidate policy needs leave the node.
  const required = login.requiredAttestors.length > 0 ? login.requiredAttestors : [...collectors.keys()];
  const proofs = await collectProofs(
    required.map((type) => collectors.get(type)!),
    login.challenges,
    recorder,
  );

  const key = await generateKey();
  const result = await client.completeLogin(login.loginId, proofs, key.csrPem);

  let matches: boolean;
  try {
    matches = await leafMatchesKey(result.svid.certChain, key.keyPair.publicKey);
  } catch (error) {
    throw new LoginError(`login: the server's SVID is unreadable: ${errorMessage(error)}`, { cause: error });
  }
  if (!matches) throw new LoginError('login: the server returned an SVID for another key than the CSR’s');

  const files = await writeFiles(options.out, {
    certChain: result.svid.certChain,
    privateKeyPem: key.privateKeyPem,
    bundle: result.bundle,
    state: serializeAgentState({
      agentId: result.agentId,
      spiffeId: result.spiffeId,
      reattestable: result.reattestable,
    }),
  });
  return {
    agentId: result.agentId,
    spiffeId: result.spiffeId,
    policy: result.policy,
    expiresAt: result.svid.expiresAt,
    reattestable: result.reattestable,
    files,
  };
}

async function collectProofs(
  collectors: ProofCollector[],
  challenges: Record<string, string>,
  recorder: ProofRecorder,
): Promise<Record<string, unknown>> {
  const collected = await Promise.all(
    collectors.map(async (collector) => {
      const challenge = Object.hasOwn(challenges, collector.type) ? challenges[collector.type] : undefined;
      try {
        const proof = await collector.collect(challenge === undefined ? {} : { challenge });
        recorder.proof(collector.type, 'success');
        return [collector.type, proof] as const;
      } catch (error) {
        recorder.proof(collector.type, 'failed');
        const text = errorMessage(error);
        const prefixed = text.startsWith(`${collector.type}:`) ? text : `${collector.type}: ${text}`;
        throw new LoginError(`login: cannot collect proof: ${prefixed}`, { cause: error });
      }
    }),
  );
  return Object.fromEntries(collected);
}
