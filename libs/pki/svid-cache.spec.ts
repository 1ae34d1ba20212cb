import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { CertificateAuthority, generateCaKey } from './ca';
import { SvidRejected, verifySvidChain } from './svid';
import { VerifiedSvidCache } from './svid-cache';

const TD = 'example.org';
const ID = 'spiffe://example.org/agent/a';
const HOUR = 3600_000;
const start = new Date('2030-01-01T00:00:00Z');
const at = (ms: number): Date => new Date(start.getTime() + ms);

// The CA lives a day from `start`; the SVID an hour from `start + 1h` (less the backdating).
const made = generateCaKey(TD, start, 86_400);
const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
const other = generateCaKey(TD, start, 86_400).certificatePem;
const agentKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const svid = ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: agentKey, ttlSeconds: 3600, now: at(HOUR) });
const bundle = [ca.bundlePem()];

/** The uncached check's answer: the SPIFFE ID, or the refusal's message. */
function uncached(chain: string, bundlePems: readonly string[], now: Date): string {
  try {
    return verifySvidChain(chain, bundlePems, now).spiffeId;
  } catch (error) {
    if (error instanceof SvidRejected) return error.message;
    throw error;
  }
}

function cached(cache: VerifiedSvidCache, chain: string, bundlePems: readonly string[], now: Date): string {
  try {
    const checked = cache.verify(chain, bundlePems, now);
    checked.remember();
    return checked.svid.spiffeId;
  } catch (error) {
    if (error instanceof SvidRejected) return error.message;
    throw error;
  }
}

describe('VerifiedSvidCache', () => {
  it('answers a chain presented again from memory', () => {
    const cache = new VerifiedSvidCache(10);
    const first = cache.verify(svid.chainPem, bundle, at(HOUR + 60_000));
    first.remember();
    expect(cache.verify(svid.chainPem, bundle, at(HOUR + 120_000)).svid).toBe(first.svid);
    expect(first.svid).toMatchObject({ spiffeId: ID, serialHex: svid.serialHex });
    expect(cache.size).toBe(1);
  });

  it('refuses a remembered chain once its SVID has expired, saying so', () => {
    const cache = new VerifiedSvidCache(10);
    cache.verify(svid.chainPem, bundle, at(HOUR + 60_000)).remember();
    expect(() => cache.verify(svid.chainPem, bundle, at(3 * HOUR))).toThrow(/leaf certificate expired at/);
  });

  it('refuses a remembered chain once its CA has left the trust bundle', () => {
    const cache = new VerifiedSvidCache(10);
    cache.verify(svid.chainPem, [other, ...bundle], at(HOUR + 60_000)).remember();
    expect(() => cache.verify(svid.chainPem, [other], at(HOUR + 120_000))).toThrow(
      'svid: chain does not verify against the trust bundle',
    );
  });

  it('keeps a chain only when told to, and never a refused one', () => {
    const cache = new VerifiedSvidCache(10);
    expect(cache.verify(svid.chainPem, bundle, at(HOUR + 60_000)).svid.spiffeId).toBe(ID);
    expect(() => cache.verify(svid.chainPem, [other], at(HOUR + 60_000))).toThrow(SvidRejected);
    expect(cache.size).toBe(0);
  });

  it('bounds its memory by bytes, so padded copies of a chain push out others instead of piling up', () => {
    const cache = new VerifiedSvidCache(10);
    for (let i = 0; i < 10; i++) {
      cache.verify(svid.chainPem + ' '.repeat(50_000 + i), bundle, at(HOUR + 60_000)).remember();
    }
    // ten entries' worth of bytes holds one 50 KB text at a time
    expect(cache.size).toBe(1);
  });

  it('with 0 entries remembers nothing and still verifies', () => {
    const cache = new VerifiedSvidCache(0);
    cache.verify(svid.chainPem, bundle, at(HOUR + 60_000)).remember();
    expect(cache.size).toBe(0);
  });

  it('answers what the uncached check answers, at any time and with any bundle', () => {
    const bundles = [bundle, [other], [other, ...bundle], [other + bundle[0]!], []];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -HOUR, max: 26 * HOUR }), fc.constantFrom(...bundles)), {
          minLength: 1,
          maxLength: 8,
        }),
        (presentations) => {
          const cache = new VerifiedSvidCache(4);
          for (const [offset, bundlePems] of presentations) {
            expect(cached(cache, svid.chainPem, bundlePems, at(offset))).toBe(
              uncached(svid.chainPem, bundlePems, at(offset)),
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
