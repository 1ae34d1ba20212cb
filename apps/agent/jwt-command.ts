import { AgentApiError, type SvidApi, AgentClient } from './client';
import { readHeldSvid } from './held-svid';
import { signProofOfPossession } from './proof-of-possession';

/** What `attestd-agent jwt` does, as a value; the CLI builds it from flags. */
export interface JwtOptions {
  /** attestd base URL */
  server: string;
  /** the directory `login` wrote svid.pem and svid.key to */
  out: string;
  /** the token's `aud`, one or more */
  audiences: string[];
  /** per HTTP request; default 30 s */
  timeoutMs?: number;
}

/**
 * How often a refusal of an SVID the daemon has meanwhile replaced is
 * retried with the files as they are now: once per renewal that can land
 * between reading the files and the server's answer.
 */
const REREADS = 3;

/**
 * Mints a JWT-SVID (`api.md`, "jwt-svid") with the SVID and key in `out`:
 * the certificate is the credential, a fresh JWS by its key the proof.
 * Returns the token and its expiry; throws, never exits.
 *
 * A daemon renewing in the same directory can replace the SVID while this
 * runs; once its successor is in use the server refuses the one read here
 * as not current. That refusal, when `out` now holds another SVID, is
 * answered by trying again with it.
 */
export async function runJwt(
  options: JwtOptions,
  deps: { client?: SvidApi } = {},
): Promise<{ token: string; expiresAt: string }> {
  const client = deps.client ?? new AgentClient({ server: options.server, timeoutMs: options.timeoutMs });
  for (let attempt = 0; ; attempt++) {
    const held = await readHeldSvid(options.out);
    const pop = await signProofOfPossession(held.privateKey, 'attestd-jwt-svid');
    try {
      return await client.jwtSvid({ certChain: held.certChain, pop, audience: options.audiences });
    } catch (error) {
      const replaced =
        error instanceof AgentApiError &&
        error.code === 'invalid_proof_of_possession' &&
        attempt < REREADS &&
        (await readHeldSvid(options.out)).serial !== held.serial;
      if (!replaced) throw error;
    }
  }
}
