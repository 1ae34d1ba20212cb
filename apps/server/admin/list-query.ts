import { decodeCursor, type KeyPattern } from '@libs/persistence';
import { ApiError } from '@libs/contracts/api-error';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 500;

export function pageLimit(limit: string | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (!/^[0-9]{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_PAGE) {
    throw new ApiError('invalid_request', `limit must be an integer from 1 to ${MAX_PAGE}`, [
      { path: 'limit', message: `must be 1..${MAX_PAGE}` },
    ]);
  }
  return Number(limit);
}

export function pageCursor(cursor: string | undefined, pattern: KeyPattern): string | undefined {
  if (cursor === undefined) return undefined;
  const key = cursor.length <= 200 ? decodeCursor(cursor, pattern) : undefined;
  if (key === undefined)
    throw new ApiError('invalid_request', 'cursor is not one this server issued', [
      { path: 'cursor', message: 'is invalid' },
    ]);
  return key;
}

export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ApiError('invalid_request', `${name} must be one of ${allowed.join(', ')}`, [
      { path: name, message: `must be one of ${allowed.join(', ')}` },
    ]);
  }
  return value as T;
}

export function timestamp(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  // Year 0 (and an offset that moves year 1 back into it) is a valid JS date but outside PostgreSQL's range: a 500, not a filter.
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1) {
    throw new ApiError('invalid_request', `${name} must be an RFC 3339 time`, [
      { path: name, message: 'must be an RFC 3339 time' },
    ]);
  }
  return date;
}

export function attestorName(value: string | undefined): string | undefined {
  if (value !== undefined && !/^[a-z][a-z0-9_]{0,31}$/.test(value)) {
    throw new ApiError('invalid_request', 'attestor must be an attestor type name', [
      { path: 'attestor', message: 'is invalid' },
    ]);
  }
  return value;
}
