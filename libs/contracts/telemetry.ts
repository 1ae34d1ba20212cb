/**
 * The reference agent's own counter (`operations.md`, "Metrics"): spelled
 * here because both the agent and the server's instrument list name it, and
 * the agent must not import the server.
 */
export const AGENT_PROOFS = { name: 'attestd.agent.proofs', kind: 'counter', attributes: ['attestor_type', 'outcome'] } as const;
