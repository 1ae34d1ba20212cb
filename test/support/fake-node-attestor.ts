import { ProofRejected, type Attestor } from '../../libs/attestors/attestor';

/**
 * A node-unique attestor for exercising what the host does around any
 * attestor (TOFU, bans, eviction, policy selection) without a cloud: the
 * proof names a node, and `secret` must be `let-me-in`; `delayMs` makes
 * verification as slow as a cloud API.
 */
export const fakeNodeAttestor: Attestor<{ node: string; secret: string; zone?: string; delayMs?: number }, Record<string, never>> = {
  type: 'test_node',
  attributes: ['node.id', 'zone'],
  singleValued: ['node.id', 'zone'],
  nodeUnique: ['node.id'],
  // the proof names its zone: any text, the same on two nodes
  callerChosen: ['zone'],
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  proofSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['node', 'secret'],
    properties: { node: { type: 'string', maxLength: 64 }, secret: { type: 'string' }, zone: { type: 'string', maxLength: 64 }, delayMs: { type: 'integer', minimum: 0, maximum: 5000 } },
  },
  defaultSpiffeIdPath: '/agent/test_node/{{test_node.node.id}}',
  bindsChallenge: false,
  async verify(proof) {
    // a slow cloud API, for tests of what happens while verification waits
    if (proof.delayMs) await new Promise((resolve) => setTimeout(resolve, proof.delayMs));
    if (proof.secret !== 'let-me-in') throw new ProofRejected('test_node: secret is wrong');
    return {
      attributes: { 'node.id': [proof.node], zone: proof.zone === undefined ? [] : [proof.zone] },
      selectors: [`node:${proof.node}`],
      tofuKey: `test_node/${proof.node}`,
    };
  },
};
