/**
 * The reference agent's own counter (`operations.md`, "Metrics"): spelled
 * here because both the agent and the server's instrument list name it, and
 * the agent must not import the server.
 */
export const AGENT_PROOFS = {
  name: 'attestd.agent.proofs',
  kind: 'counter',
  description: 'Proofs the reference agent gathered for a login, by attestor and outcome (success or failed).',
  attributes: ['attestor_type', 'outcome'],
} as const;
