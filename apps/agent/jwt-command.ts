import { AgentClient, type SvidApi } from './client';
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
 * Mints a JWT-SVID (`api.md`, "jwt-svid") with the SVID and key in `out`:
 * the certificate is the credential, a fresh JWS by its key the proof.
 * Returns the token and its expiry; throws, never exits.
 */
export async function runJwt(
  options: JwtOptions,
  deps: { client?: SvidApi } = {},
): Promise<{ token: string; expiresAt: string }> {
  const client = deps.client ?? new AgentClient({ server: options.server, timeoutMs: options.timeoutMs });
  const held = await readHeldSvid(options.out);
  const pop = await signProofOfPossession(held.privateKey, 'attestd-jwt-svid');
  return client.jwtSvid({ certChain: held.certChain, pop, audience: options.audiences });
}
