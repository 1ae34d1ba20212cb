import { isErrorLike } from './errors';

/**
 * Why a request got no answer, for `cannot reach attestd at URL: <reason>`:
 * the timeout, a refused redirect (`who` does not follow them: the
 * credentials it sends must not go elsewhere), or the network error's code
 * and message.
 */
export function describeFailure(error: unknown, timeoutMs: number, who: string): string {
  if (isErrorLike(error) && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${Number((timeoutMs / 1000).toFixed(3))} s`;
  }
  // undici reports "fetch failed" and puts the reason (ECONNREFUSED, redirect, TLS) in `cause`
  const cause = isErrorLike(error) && isErrorLike(error.cause) ? error.cause : error;
  if (isErrorLike(cause)) {
    if (cause.message === 'unexpected redirect') return `it answered with a redirect, which ${who} does not follow`;
    const code = cause.code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
  }
  return String(cause);
}
