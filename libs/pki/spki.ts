import type { AsymmetricKeyDetails, KeyObject } from 'node:crypto';

// SubjectPublicKeyInfo bytes for a key, without paying for OpenSSL's encoder.
//
// `key.export({ type: 'spki' })` costs ~45 µs on OpenSSL 3 (measured),
// more than the ECDSA signature of a whole certificate. The login path would
// pay it twice (CSR intake, then issuance). So:
// - a CSR's own SPKI is used as is when it already has the canonical layout
//   (named curve, uncompressed point: a fixed prefix and length), which is
//   what every mainstream EC stack emits; anything else is re-exported;
// - the SPKI of each key parseCsr returns is remembered (WeakMap: it goes
//   with the KeyObject), so issuance finds it instead of exporting again.

// SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING 0x04 || X || Y }
const CANONICAL_EC: ReadonlyArray<{ prefix: Buffer; length: number; namedCurve: string }> = [
  {
    prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'),
    length: 91,
    namedCurve: 'prime256v1',
  },
  {
    prefix: Buffer.from('3076301006072a8648ce3d020106052b8104002203620004', 'hex'),
    length: 120,
    namedCurve: 'secp384r1',
  },
];

const remembered = new WeakMap<KeyObject, Buffer>();
const details = new WeakMap<KeyObject, KeyDetails>();

export interface KeyDetails extends AsymmetricKeyDetails {
  /** KeyObject.asymmetricKeyType */
  readonly type: string | undefined;
}

function canonicalEcForm(raw: Buffer) {
  return CANONICAL_EC.find(
    (form) => raw.length === form.length && raw.subarray(0, form.prefix.length).equals(form.prefix),
  );
}

/**
 * The key's type, curve and size. `KeyObject.asymmetricKeyDetails` asks
 * OpenSSL (about 11 µs, and four in a hundred of a renewal's server
 * samples for the two keys it classifies), so when `raw`, the SPKI the key
 * was read from, has the canonical EC layout, its fixed prefix names the
 * curve instead. Remembered per key: the CSR's key is classified again at
 * issuance.
 */
export function keyDetailsOf(key: KeyObject, raw?: Buffer): KeyDetails {
  let known = details.get(key);
  if (known === undefined) {
    const form = raw && canonicalEcForm(raw);
    known = form
      ? { type: 'ec', namedCurve: form.namedCurve }
      : { type: key.asymmetricKeyType, ...key.asymmetricKeyDetails };
    details.set(key, known);
  }
  return known;
}

/**
 * The canonical SPKI of `key`, given the bytes it was read from. `key` must
 * have been created from `raw`; the bytes are then trusted only when their
 * layout is the canonical one.
 */
export function canonicalSpki(key: KeyObject, raw: Buffer): Buffer {
  const canonical = canonicalEcForm(raw) ? Buffer.from(raw) : key.export({ type: 'spki', format: 'der' });
  remembered.set(key, canonical);
  return canonical;
}

/** SPKI DER of a public key: remembered when it came from canonicalSpki, else exported. */
export function spkiOf(key: KeyObject): Buffer {
  return remembered.get(key) ?? key.export({ type: 'spki', format: 'der' });
}
