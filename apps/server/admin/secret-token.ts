import { randomBytes } from 'node:crypto';

/**
 * A new bearer secret (join token, generated admin token): 256 random bits as
 * base64url, 43 characters. A draw that begins with `-` is drawn again: on a
 * command line (`attestd-agent login --token -x…`) it reads as an option and
 * the agent stops with a usage error. Dropping 1/64 of the draws costs a
 * negligible fraction of a bit.
 */
export function newSecretToken(): string {
  for (;;) {
    const token = randomBytes(32).toString('base64url');
    if (!token.startsWith('-')) return token;
  }
}
