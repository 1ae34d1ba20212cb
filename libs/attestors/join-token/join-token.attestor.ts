import { createHash } from 'node:crypto';
import type { JSONSchemaType } from 'ajv';
import { ProofRejected, type Attestor, type VerifyContext, type Verified } from '../attestor';

export interface JoinTokenProof {
  token: string;
}

/** A join token needs no per-policy settings: the config is an empty object. */
export type JoinTokenConfig = Record<never, never>;

/** The port to the join-token store: the attestor reads, the login write consumes. */
export interface JoinTokenLookup {
  /** the token with this hash, if it exists, is unexpired at `now` and unused */
  findUsable(tokenHash: string, now: Date): Promise<{ id: string } | null>;
}

/** Join tokens are high-entropy random secrets, so a fast hash is the right one. */
export function hashJoinToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const CONFIG_SCHEMA: JSONSchemaType<JoinTokenConfig> = { type: 'object', additionalProperties: false, properties: {} };

const PROOF_SCHEMA: JSONSchemaType<JoinTokenProof> = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: 512 } },
};

/**
 * `join_token` (attestors.md): a one-time secret from an administrator.
 * One message for unknown, expired and used tokens, so the answer is no
 * oracle for which tokens exist.
 */
export function joinTokenAttestor(tokens: JoinTokenLookup): Attestor<JoinTokenProof, JoinTokenConfig> {
  return {
    type: 'join_token',
    attributes: ['id'],
    singleValued: ['id'],
    nodeUnique: ['id'],
    callerChosen: [],
    configSchema: CONFIG_SCHEMA,
    proofSchema: PROOF_SCHEMA,
    defaultSpiffeIdPath: '/agent/join_token/{{join_token.id}}',
    bindsChallenge: false,
    async verify(proof: JoinTokenProof, _config: JoinTokenConfig, context: VerifyContext): Promise<Verified> {
      const found = await tokens.findUsable(hashJoinToken(proof.token), context.now);
      if (!found) throw new ProofRejected('join_token: token is unknown, expired or already used');
      return {
        attributes: { id: [found.id] },
        selectors: [`id:${found.id}`],
        tofuKey: `join_token/${found.id}`,
        consume: { joinTokenId: found.id },
      };
    },
  };
}
