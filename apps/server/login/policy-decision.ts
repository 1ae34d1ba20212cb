import { DependencyUnavailable, ProofRejected, type Attributes } from '../../../libs/attestors/attestor';
import type { AttestorRegistry, VerifiedProof } from '../../../libs/attestors/registry';
import type { CompiledPolicy } from '../../../libs/policy';

/**
 * A refusal's `reason` goes to the audit log and the server log;
 * `agentReason` is what the agent is told (see ProofRejected): never rule
 * operands, configuration or what a cloud answered.
 */
export type Decision =
  | { kind: 'authorized'; policy: CompiledPolicy; proofs: VerifiedProof[]; attributes: Attributes }
  | { kind: 'attestation_failed'; attestor: string; reason: string; agentReason: string }
  | { kind: 'policy_denied'; policy: string; reason: string; agentReason: string; attributes: Attributes }
  | { kind: 'unavailable'; attestor: string; reason: string; agentReason: string };

type Outcome = { ok: true; proof: VerifiedProof } | { ok: false; error: unknown };

/**
 * Told the verdict of each verification decide() runs (the server counts
 * them as `attestd.attestation.proofs`): `success` when the proof verified,
 * `failed` when the attestor rejected it. A verification that could not
 * reach a verdict (a cloud API unavailable, an attestor bug) is no verdict
 * on the proof and is not reported.
 */
export type ProofObserver = (attestorType: string, outcome: 'success' | 'failed') => void;

/**
 * Completion's decision (`policy.md`, "Policy selection"): verify every
 * proof the candidates need, each once per distinct attestor config and all
 * in parallel, then walk the candidates in document order; the first whose
 * proofs all verified and whose rules hold wins. Free of I/O itself: the
 * attestors behind the registry do the cloud look-ups.
 */
export async function decide(
  candidates: readonly CompiledPolicy[],
  proofs: Record<string, unknown>,
  registry: AttestorRegistry,
  context: { challenges: Record<string, string>; now: Date; onProof?: ProofObserver },
): Promise<Decision> {
  const observe = context.onProof ?? (() => undefined);
  const outcomes = new Map<string, Promise<Outcome>>();
  const outcomeOf = (type: string, config: unknown): Promise<Outcome> => {
    const key = `${type}\u0000${JSON.stringify(config ?? {})}`;
    let outcome = outcomes.get(key);
    if (!outcome) {
      const challenge = context.challenges[type];
      outcome = registry
        .verify(type, proofs[type], config ?? {}, { now: context.now, ...(challenge !== undefined && { challenge }) })
        .then(
          (proof): Outcome => {
            observe(type, 'success');
            return { ok: true, proof };
          },
          (error: unknown): Outcome => {
            if (error instanceof ProofRejected) observe(type, 'failed');
            return { ok: false, error };
          },
        );
      outcomes.set(key, outcome);
    }
    return outcome;
  };
  const perPolicy = candidates.map((policy) => Promise.all(policy.requiredAttestors.map((a) => outcomeOf(a.type, a.config))));
  const settled = await Promise.all(perPolicy);

  let firstFailure: Decision | undefined;
  let firstDenial: Decision | undefined;
  for (const [index, policy] of candidates.entries()) {
    const results = settled[index]!;
    const failed = results.find((r): r is { ok: false; error: unknown } => !r.ok);
    if (failed) {
      const decision = failure(policy.requiredAttestors[results.indexOf(failed)]!.type, failed.error);
      // An earlier policy we cannot decide might have been the winner, so
      // a later one must not be granted in its place: fail closed.
      if (decision.kind === 'unavailable') return decision;
      firstFailure ??= decision;
      continue;
    }
    const verified = results.map((r) => (r as { ok: true; proof: VerifiedProof }).proof);
    const attributes = Object.assign({}, ...verified.map((p) => p.attributes)) as Attributes;
    const verdict = policy.evaluate(attributes);
    if (verdict.holds) return { kind: 'authorized', policy, proofs: verified, attributes };
    firstDenial ??= {
      kind: 'policy_denied',
      policy: policy.name,
      reason: `policy ${policy.name}: ${verdict.failed ?? 'rules do not hold'}`,
      // which rule failed, with its operands, would tell a prober what to forge
      agentReason: `policy ${policy.name}: rules do not hold`,
      attributes,
    };
  }
  // A denial by rules means every proof of that policy verified: the more
  // specific answer.
  const decision = firstDenial ?? firstFailure;
  if (!decision) throw new Error('decide() needs at least one candidate policy');
  return decision;
}

function failure(attestor: string, error: unknown): Decision {
  if (error instanceof ProofRejected) return { kind: 'attestation_failed', attestor, reason: error.reason, agentReason: error.agentReason };
  if (error instanceof DependencyUnavailable) {
    // a cloud's error text names the server's roles, accounts and endpoints
    return { kind: 'unavailable', attestor, reason: `${attestor}: ${error.message}`, agentReason: `${attestor}: a service it depends on is unavailable; retry later` };
  }
  // An attestor bug must not turn into a success, nor leak internals.
  throw error;
}

/**
 * Whether an agent may log in again by itself, with fresh proofs, when its
 * SVID can no longer renew (SPIRE's "can reattest"): no proof of the login
 * was single use (a join token), and no proof was node-unique (TOFU:
 * `aws_iid`, `azure_msi`, `k8s_psat`) unless the policy turns TOFU off, in
 * which case the new login supersedes the old agent. A node-unique proof
 * under `tofu: true` would meet its own TOFU record: an operator must
 * evict the agent first.
 */
export function canReattest(policy: Pick<CompiledPolicy, 'tofu'>, proofs: readonly Pick<VerifiedProof, 'tofuKey' | 'consume'>[]): boolean {
  return proofs.every((proof) => proof.consume === undefined && (proof.tofuKey === undefined || !policy.tofu));
}
