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
    this.verdicts =
      maxEntries > 0
        ? new LRUCache({
            max: maxEntries,
            // The PEM text is the agent's, up to 64 KiB and padded at will:
            // memory is bounded by bytes, not only by entries.
            maxSize: maxEntries * TYPICAL_ENTRY_BYTES,
            sizeCalculation: (_verdict, pem) => pem.length + KEY_BYTES,
          })
        : undefined;
  }

  /**
   * verifySvidChain, answered from memory when it can be. The chain is
   * kept only when the caller calls `remember()`: after the agent proved it
   * holds the key (so nobody fills the cache with chains they merely
   * copied), and only for JWT-SVID requests: a renewal's chain is spent,
   * the agent moves to its new SVID.
   */
  verify(certChainPem: string, bundlePems: readonly string[], now: Date): Checked {
    const known = this.verdicts?.get(certChainPem);
    const at = now.getTime();
    if (known && known.validFrom <= at && at <= known.validUntil && bundlePems.includes(known.anchorPem)) {
      return { svid: known.svid, remember: () => undefined };
    }
    const verdict = checkSvidChain(certChainPem, bundlePems, now);
    return { svid: verdict.svid, remember: () => void this.verdicts?.set(certChainPem, verdict) };
  }

  get size(): number {
    return this.verdicts?.size ?? 0;
  }
}

export interface Checked {
  readonly svid: VerifiedSvid;
  /** keep the verdict for the next presentation of the same chain */
  remember(): void;
}

/** Native memory of the leaf's public key as X509Certificate hands it out (measured, Node 24, P-256). */
const KEY_BYTES = 5 * 1024;
/** One of our own one-certificate chains (about 800 characters) and its key. */
const TYPICAL_ENTRY_BYTES = 6 * 1024;
