import { LRUCache } from 'lru-cache';
import { checkSvidChain, type ChainVerdict, type VerifiedSvid } from './svid';

/**
 * X509-SVID chains already verified. An agent presents the same SVID for
 * every JWT-SVID it asks for (a token per workload and audience, renewed
 * every few minutes, for as long as the SVID lives), and checking the
 * chain again was a fifth of a JWT-SVID's server CPU.
 *
 * A verdict depends on the certificates' bytes (the key is the chain's PEM
 * text, exactly as presented), on the time (each certificate's validity)
 * and on the bundle (the anchoring CA must still be in it). A hit checks
 * the last two against the verdict's validity window and anchor; anything
 * else falls through to the full check, so a refusal always says why.
 * Whether the agent may still use the SVID (banned, renewed since) is the
 * database write's question, never answered from here.
 */
export class VerifiedSvidCache {
  private readonly verdicts: LRUCache<string, ChainVerdict> | undefined;

  /** `maxEntries` 0 remembers nothing */
  constructor(maxEntries: number) {
    this.verdicts = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  /**
   * verifySvidChain, answered from memory when it can be. Only `remember`ed
   * chains are kept: a JWT-SVID's chain is likely presented again, a
   * renewal's is spent (the agent moves to its new SVID), so renewals look
   * up without filling the cache with chains nobody presents twice.
   */
  verify(certChainPem: string, bundlePems: readonly string[], now: Date, remember: boolean): VerifiedSvid {
    const known = this.verdicts?.get(certChainPem);
    const at = now.getTime();
    if (known && known.validFrom <= at && at <= known.validUntil && bundlePems.includes(known.anchorPem)) {
      return known.svid;
    }
    const verdict = checkSvidChain(certChainPem, bundlePems, now);
    if (remember) this.verdicts?.set(certChainPem, verdict);
    return verdict.svid;
  }

  get size(): number {
    return this.verdicts?.size ?? 0;
  }
}
