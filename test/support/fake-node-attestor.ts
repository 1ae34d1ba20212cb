import { ProofRejected, type Attestor } from '@libs/attestors/attestor';

/**
 * Verifications whose proof says `hold: true`: they wait, as on a cloud API
 * that does not answer, until the test releases them. A test waits for the
 * event (so many verifications held) rather than for a time, which a loaded
 * machine stretches.
 */
export class HeldVerifications {
  private held: (() => void)[] = [];
  private arrivals: (() => void)[] = [];

  hold(): Promise<void> {
    return new Promise((release) => {
      this.held.push(release);
      for (const arrived of this.arrivals.splice(0)) arrived();
    });
  }

  /** Resolves once `count` verifications are held. */
  async whenHeld(count: number): Promise<void> {
    while (this.held.length < count) await new Promise<void>((arrived) => this.arrivals.push(arrived));
  }

  releaseAll(): void {
    for (const release of this.held.splice(0)) release();
  }
}

export const heldVerifications = new HeldVerifications();

/**
 * A node-unique attestor for exercising what the host does around any
 * attestor (TOFU, bans, eviction, policy selection) without a cloud: the
 * proof names a node, and `secret` must be `let-me-in`; `hold` keeps its
 * verification waiting until `heldVerifications.releaseAll()`.
 */
export const fakeNodeAttestor: Attestor<
  { node: string; secret: string; zone?: string; hold?: boolean },
  Record<string, never>
> = {
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
    properties: {
      node: { type: 'string', maxLength: 64 },
      secret: { type: 'string' },
      zone: { type: 'string', maxLength: 64 },
      hold: { type: 'boolean' },
    },
  },
  defaultSpiffeIdPath: '/agent/test_node/{{test_node.node.id}}',
  bindsChallenge: false,
  async verify(proof) {
    // a cloud API that does not answer yet, for tests of what happens while verification waits
    if (proof.hold) await heldVerifications.hold();
    if (proof.secret !== 'let-me-in') throw new ProofRejected('test_node: secret is wrong');
    return {
      attributes: { 'node.id': [proof.node], zone: proof.zone === undefined ? [] : [proof.zone] },
      selectors: [`node:${proof.node}`],
      tofuKey: `test_node/${proof.node}`,
    };
  },
};
