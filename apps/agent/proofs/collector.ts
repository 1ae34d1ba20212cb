/** What a collector gets for one login. */
export interface CollectContext {
  /** the nonce the server issued for this attestor at login start, if it binds one */
  challenge?: string;
}

/**
 * Gathers one attestor's proof on the node (`api.md`, `proofs.<type>`).
 * Errors are thrown with messages prefixed by the type (`join_token: ...`)
 * and never hold the secret itself.
 */
export interface ProofCollector {
  readonly type: string;
  collect(ctx: CollectContext): Promise<unknown>;
}

/** A collector could not be built from the settings it was given. */
export class CollectorSettingsError extends Error {
  override readonly name = 'CollectorSettingsError';
}
