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

/** Operation `index` mints a JWT-SVID for agent `index % agents.length`, for one audience. */
export function jwtSvidOperation(route: Route, agents: HeldAgent[], keys: AgentKey[]): Operation {
  return async (index) => {
    const agent = agents[index % agents.length]!;
    const pop = await signProofOfPossession(keys[agent.key]!.keyPair.privateKey, 'attestd-jwt-svid');
    const answer = await route(index).call('POST', '/v1/agent/jwt-svid', {
      certChain: agent.certChain,
      pop,
      audience: ['bench'],
    });
    return answer.status === 200 ? 'ok' : `jwt-svid ${answer.status} ${codeOf(answer.body)}`;
  };
}
