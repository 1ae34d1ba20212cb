import type { AgentKey } from '@apps/agent/keys';
import { signProofOfPossession } from '@apps/agent/proof-of-possession';
import { codeOf, type HeldAgent, type Route } from './aws-fleet';
import type { Operation } from './http-load';

// The steady-state load of a fleet: agents renewing their X.509-SVIDs and
// trading them for JWT-SVIDs (`api.md`, "renew" and "jwt-svid"), as the
// agent daemon does it: a JWS by the current SVID's key (signed with the
// agent's own `signProofOfPossession`, in this process, as part of the
// load generator's cost), a new CSR, the chain. The agents are the ones
// the timed logins made; each renewal moves an agent to the next of the
// fleet's keys, so the next renewal proves a new key.

/** Operation `index` renews agent `index % agents.length`; its SVID and key are replaced by the answer. */
export function renewOperation(route: Route, agents: HeldAgent[], keys: AgentKey[]): Operation {
  return async (index) => {
    const agent = agents[index % agents.length]!;
    if (agent.busy) return 'agent busy'; // never two renewals of one agent at once: the second would present a spent SVID
    agent.busy = true;
    try {
      const next = (agent.key + 1) % keys.length;
      const csr = keys[next]!.csrPem;
      const pop = await signProofOfPossession(keys[agent.key]!.keyPair.privateKey, 'attestd-renew', { csrPem: csr });
      const answer = await route(index).call('POST', '/v1/agent/renew', { certChain: agent.certChain, csr, pop });
      if (answer.status !== 200) return `renew ${answer.status} ${codeOf(answer.body)}`;
      agent.certChain = (JSON.parse(answer.body) as { svid: { certChain: string } }).svid.certChain;
      agent.key = next;
      return 'ok';
    } finally {
      agent.busy = false;
    }
  };
}

/**
 * How many agents the JWT-SVID phases mint for, in turn. An agent presents
 * the same X.509-SVID for many JWT-SVIDs (with the default lifetimes, a
 * 1-hour SVID and 5-minute tokens fetched again at half their life: 24
 * per workload and audience), so most requests present a chain the server
 * has seen; the phases' warm-up presents each of these agents' chains once.
 */
export const JWT_SVID_AGENTS = 500;

/** Operation `index` mints a JWT-SVID for agent `index % JWT_SVID_AGENTS`, for one audience. */
export function jwtSvidOperation(route: Route, agents: HeldAgent[], keys: AgentKey[]): Operation {
  const minting = agents.slice(0, JWT_SVID_AGENTS);
  return async (index) => {
    const agent = minting[index % minting.length]!;
    const pop = await signProofOfPossession(keys[agent.key]!.keyPair.privateKey, 'attestd-jwt-svid');
    const answer = await route(index).call('POST', '/v1/agent/jwt-svid', {
      certChain: agent.certChain,
      pop,
      audience: ['bench'],
    });
    return answer.status === 200 ? 'ok' : `jwt-svid ${answer.status} ${codeOf(answer.body)}`;
  };
}
