import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/**
 * A stable, non-secret name for an admin token in the audit log and in
 * `createdBy`: a MAC of the token's hash under a key only the server holds,
 * so a viewer who reads it learns nothing that helps guess the token (an
 * unkeyed hash prefix would let them test guesses offline). The same on
 * every replica and across restarts: the key is a server secret in the
 * database.
 */
export class AdminActorIds {
  private readonly key: KeyObject;

  constructor(secret: Buffer) {
    this.key = createSecretKey(secret);
  }

  of(tokenHash: Buffer): string {
    return createHmac('sha256', this.key).update(tokenHash).digest('hex').slice(0, 16);
  }
}
