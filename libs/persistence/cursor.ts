/** Opaque page cursors over ascending/descending bigint or uuid keys. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** What a decoded cursor key must pass: a RegExp, or a parser's check. */
export interface KeyPattern {
  test(key: string): boolean;
}

/** undefined for a cursor that is not one of ours (the caller answers 400). */
export function decodeCursor(cursor: string, pattern: KeyPattern): string | undefined {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  return pattern.test(key) ? key : undefined;
}

export const UUID_KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * An audit event's place in the list (newest first, by time then id):
 * `<id>.<epoch ms>`. 18 digits of id: every 19-digit number above 2^63-1
 * would reach PostgreSQL as an out-of-range bigint (a 500), and ids never
 * get near 10^18; times stop at the end of year 9999, as PostgreSQL's
 * input does.
 */
const AUDIT_POSITION = /^([0-9]{1,18})\.([0-9]{1,15})$/;
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export interface AuditPosition {
  id: string;
  at: Date;
}

export function auditKey(position: { id: bigint | string; at: Date }): string {
  return `${position.id}.${position.at.getTime()}`;
}

export function parseAuditKey(key: string): AuditPosition | undefined {
  const match = AUDIT_POSITION.exec(key);
  if (!match || Number(match[2]) > LAST_MS) return undefined;
  return { id: match[1]!, at: new Date(Number(match[2])) };
}

export const AUDIT_KEY: KeyPattern = { test: (key) => parseAuditKey(key) !== undefined };
