/** Opaque page cursors over ascending/descending bigint or uuid keys. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** undefined for a cursor that is not one of ours (the caller answers 400). */
export function decodeCursor(cursor: string, pattern: RegExp): string | undefined {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  return pattern.test(key) ? key : undefined;
}

// 18 digits: every 19-digit number above 2^63-1 would reach PostgreSQL as an out-of-range bigint (a 500); ids never get near 10^18.
export const BIGINT_KEY = /^[0-9]{1,18}$/;
export const UUID_KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
