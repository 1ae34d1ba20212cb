import { DependencyUnavailable, ProofRejected, type Attributes } from '@libs/attestors/attestor';
import type { AttestorRegistry, VerifiedProof } from '@libs/attestors/registry';
import type { CompiledPolicy } from '@libs/policy';

/**
 * A refusal's `reason` goes to the audit log and the server log;
 * `agentReason` is what the agent is told (see ProofRejected): never rule
 * operands, configuration or what a cloud answered.
 */
export type LoginDecision =
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
 * attestors behind the registry do the cloud look-ups. The configs were
 * compared when the version was compiled (`verificationKey`), so a login
 * costs no config text however many policies share one attestor.
 */
export async function decide(
  candidates: readonly CompiledPolicy[],
  proofs: Record<string, unknown>,
  registry: AttestorRegistry,
  context: { challenges: Record<string, string>; now: Date; onProof?: ProofObserver },
): Promise<LoginDecision> {
  const outcomes = await verifyOnce(candidates, proofs, registry, context);
  const merged = new Map<string, Attributes>();
  let firstFailure: LoginDecision | undefined;
  let firstDenial: LoginDecision | undefined;
  for (const policy of candidates) {
    const verified: VerifiedProof[] = [];
    let failed: LoginDecision | undefined;
    for (const attestor of policy.requiredAttestors) {
      const outcome = outcomes.get(attestor.verificationKey)!;
      if (!outcome.ok) {
        failed = failure(attestor.type, outcome.error);
        break;
      }
      verified.push(outcome.proof);
    }
    if (failed) {
      // An earlier policy we cannot decide might have been the winner, so
      // a later one must not be granted in its place: fail closed.
      if (failed.kind === 'unavailable') return failed;
      firstFailure ??= failed;
      continue;
    }
    const attributes = mergedAttributes(policy, verified, merged);
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

/**
 * The attributes a policy's rules see: one proof's own, or several merged
 * once per combination of verifications, so walking a thousand candidates
 * does not copy a thousand maps.
 */
function mergedAttributes(
  policy: CompiledPolicy,
  verified: readonly VerifiedProof[],
  merged: Map<string, Attributes>,
): Attributes {
  if (verified.length === 1) return verified[0]!.attributes;
  const key = policy.requiredAttestors.map((attestor) => attestor.verificationKey).join('\u0000');
  let attributes = merged.get(key);
  if (!attributes) {
    attributes = Object.assign({}, ...verified.map((proof) => proof.attributes)) as Attributes;
    merged.set(key, attributes);
  }
  return attributes;
}

/** Each distinct (type, config) of the candidates verified once, all in parallel, by verification key. */
async function verifyOnce(
  candidates: readonly CompiledPolicy[],
  proofs: Record<string, unknown>,
  registry: AttestorRegistry,
  context: { challenges: Record<string, string>; now: Date; onProof?: ProofObserver },
): Promise<Map<string, Outcome>> {
  const observe = context.onProof ?? (() => undefined);
  const pending = new Map<string, Promise<Outcome>>();
  for (const policy of candidates) {
    for (const { type, config, verificationKey } of policy.requiredAttestors) {
      if (pending.has(verificationKey)) continue;
      const challenge = context.challenges[type];
      const outcome = registry
        .verify(type, proofs[type], config, { now: context.now, ...(challenge !== undefined && { challenge }) })
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
      pending.set(verificationKey, outcome);
    }
  }
  const settled = await Promise.all(pending.values());
  return new Map([...pending.keys()].map((key, i) => [key, settled[i]!]));
}

function failure(attestor: string, error: unknown): LoginDecision {
  if (error instanceof ProofRejected)
    return { kind: 'attestation_failed', attestor, reason: error.reason, agentReason: error.agentReason };
  if (error instanceof DependencyUnavailable) {
    // a cloud's error text names the server's roles, accounts and endpoints
    return {
      kind: 'unavailable',
      attestor,
      reason: `${attestor}: ${error.message}`,
      agentReason: `${attestor}: a service it depends on is unavailable; retry later`,
    };
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
export function canReattest(
  policy: Pick<CompiledPolicy, 'tofu'>,
  proofs: readonly Pick<VerifiedProof, 'tofuKey' | 'consume'>[],
): boolean {
  return proofs.every((proof) => proof.consume === undefined && (proof.tofuKey === undefined || !policy.tofu));
}
