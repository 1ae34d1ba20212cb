import { ProofRejected, type Attestor, type AttestorDescriptor, type Attributes } from '@libs/attestors/attestor';
import { AttestorRegistry } from '@libs/attestors/registry';
import type { AuditEvent, SimulatedLogin, SimulationResult } from '@libs/contracts/admin-api';
import { spiffeIdFor, type CompiledPolicySet } from '@libs/policy';
import { decide } from './policy-decision';

/**
 * Stands for `{{agent.uuid}}` in SPIFFE IDs of attempts that never made an
 * agent: the nil UUID, which no agent gets and which fits the path alphabet.
 */
export const AGENT_UUID_PLACEHOLDER = '00000000-0000-0000-0000-000000000000';

/**
 * Replaying a login needs its proofs' verdicts, not the proofs (which are
 * never stored): this registry's attestors "verify" a proof by handing back
 * the attributes the audit log recorded for that attestor, and reject every
 * attestor the attempt has none for. Walking the candidates is then the
 * login's own decide(), not a copy of it.
 */
export function replayRegistry(catalog: readonly AttestorDescriptor[]): AttestorRegistry {
  return new AttestorRegistry(catalog.map(replayAttestor));
}

function replayAttestor(descriptor: AttestorDescriptor): Attestor<Attributes | undefined> {
  return {
    type: descriptor.type,
    attributes: descriptor.attributes,
    singleValued: descriptor.singleValued,
    nodeUnique: descriptor.nodeUnique,
    callerChosen: descriptor.callerChosen,
    configSchema: descriptor.configSchema,
    // the "proof" is the recorded attributes, not the agent's proof
    proofSchema: {},
    defaultSpiffeIdPath: descriptor.defaultSpiffeIdPath,
    bindsChallenge: false,
    verify: async (recorded) => {
      if (recorded === undefined)
        throw new ProofRejected(`${descriptor.type}: no verified proof recorded for this attempt`);
      return { attributes: recorded, selectors: [] };
    },
  };
}

/** What a recorded attempt's policy decision was, and what the candidate's is. */
interface Replayed {
  attempt: AuditEvent;
  was: SimulatedLogin['was'];
  now: SimulatedLogin['now'];
}

export interface ReplayContext {
  policies: CompiledPolicySet;
  registry: AttestorRegistry;
  trustDomain: string;
  now: Date;
}

/**
 * Replays recorded login attempts (newest first) against compiled candidate
 * policies and sorts them by what would change. Attempts without recorded
 * attributes (no proof of theirs verified) cannot be replayed: `skipped`.
 */
export async function replayLogins(
  attempts: readonly AuditEvent[],
  context: ReplayContext,
): Promise<Omit<SimulationResult, 'window'>> {
  const result: Omit<SimulationResult, 'window'> = {
    evaluated: 0,
    unchanged: 0,
    nowAllowed: [],
    nowDenied: [],
    changed: [],
    skipped: 0,
  };
  for (const attempt of attempts) {
    const replayed = await replayLogin(attempt, context);
    if (!replayed) {
      result.skipped++;
      continue;
    }
    result.evaluated++;
    const list = changeOf(replayed);
    if (list) result[list].push(simulatedLogin(replayed));
    else result.unchanged++;
  }
  return result;
}

/** One attempt through the candidate, or undefined when nothing about it was verified. */
export async function replayLogin(attempt: AuditEvent, context: ReplayContext): Promise<Replayed | undefined> {
  const proofs = recordedProofs(attempt.attributes ?? {}, context.registry);
  if (Object.keys(proofs).length === 0) return undefined;
  const was = recordedDecision(attempt);
  const methods = [...new Set([...attempt.attestors, ...Object.keys(proofs)])];
  const candidates = context.policies.candidatesFor(methods);
  if (candidates.length === 0) {
    return {
      attempt,
      was,
      now: denied('no_policy_for_methods', null, 'no cluster policy authorizes the provided attestors'),
    };
  }
  const decision = await decide(candidates, proofs, context.registry, { challenges: {}, now: context.now });
  switch (decision.kind) {
    case 'authorized': {
      const path = decision.policy.renderSpiffeIdPath(decision.attributes, attempt.agentId ?? AGENT_UUID_PLACEHOLDER);
      if (!path.ok)
        return {
          attempt,
          was,
          now: denied('policy_denied', decision.policy.name, `policy ${decision.policy.name}: ${path.reason}`),
        };
      const spiffeId = spiffeIdFor(context.trustDomain, path.path);
      return { attempt, was, now: { allowed: true, code: null, policy: decision.policy.name, spiffeId, reason: null } };
    }
    case 'policy_denied':
      return { attempt, was, now: denied('policy_denied', decision.policy, decision.reason) };
    case 'attestation_failed':
    case 'unavailable':
      return { attempt, was, now: denied('attestation_failed', null, decision.reason) };
  }
}

/** The recorded attributes grouped into one replay "proof" per attestor, without the `<type>.` prefix. */
function recordedProofs(attributes: Attributes, registry: AttestorRegistry): Record<string, Attributes> {
  const proofs: Record<string, Attributes> = {};
  for (const [name, values] of Object.entries(attributes)) {
    const dot = name.indexOf('.');
    const type = name.slice(0, dot);
    if (dot < 1 || !registry.has(type)) continue;
    (proofs[type] ??= {})[name.slice(dot + 1)] = values;
  }
  return proofs;
}

/**
 * The policy decision the audit event records. Refusals that come after the
 * policy allowed (TOFU conflict, ban, a spent join token) record the policy
 * that allowed: the policy's answer then was yes.
 */
function recordedDecision(attempt: AuditEvent): SimulatedLogin['was'] {
  const allowed = attempt.outcome === 'success' || (attempt.policy !== null && attempt.code !== 'policy_denied');
  return { allowed, outcome: attempt.outcome, code: attempt.code, policy: attempt.policy, spiffeId: attempt.spiffeId };
}

function denied(code: string, policy: string | null, reason: string): SimulatedLogin['now'] {
  return { allowed: false, code, policy, spiffeId: null, reason };
}

function changeOf({ was, now }: Replayed): 'nowAllowed' | 'nowDenied' | 'changed' | undefined {
  if (!was.allowed && now.allowed) return 'nowAllowed';
  if (was.allowed && !now.allowed) return 'nowDenied';
  if (!was.allowed || !now.allowed) return undefined;
  // A SPIFFE ID is recorded only when the login succeeded.
  const otherId = was.spiffeId !== null && was.spiffeId !== now.spiffeId;
  return was.policy !== now.policy || otherId ? 'changed' : undefined;
}

function simulatedLogin({ attempt, was, now }: Replayed): SimulatedLogin {
  return {
    auditId: attempt.id,
    at: attempt.at,
    attestors: attempt.attestors,
    agentId: attempt.agentId,
    sourceIp: attempt.sourceIp,
    attributes: attempt.attributes ?? {},
    was,
    now,
  };
}
