import type { KeyObject } from 'node:crypto';

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
const CANONICAL_EC: ReadonlyArray<{ prefix: Buffer; length: number }> = [
  { prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'), length: 91 }, // P-256
  { prefix: Buffer.from('3076301006072a8648ce3d020106052b8104002203620004', 'hex'), length: 120 }, // P-384
];

const remembered = new WeakMap<KeyObject, Buffer>();

/**
 * The canonical SPKI of `key`, given the bytes it was read from. `key` must
 * have been created from `raw`; the bytes are then trusted only when their
 * layout is the canonical one.
 */
export function canonicalSpki(key: KeyObject, raw: Buffer): Buffer {
  const canonical = CANONICAL_EC.some(
    (form) => raw.length === form.length && raw.subarray(0, form.prefix.length).equals(form.prefix),
  )
    ? Buffer.from(raw)
    : key.export({ type: 'spki', format: 'der' });
  remembered.set(key, canonical);
  return canonical;
}

/** SPKI DER of a public key: remembered when it came from canonicalSpki, else exported. */
export function spkiOf(key: KeyObject): Buffer {
  return remembered.get(key) ?? key.export({ type: 'spki', format: 'der' });
}
