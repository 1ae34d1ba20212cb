/**
 * What is wrong with a server URL given to a CLI, in words naming where it
 * came from (`--server`, `ATTESTD_SERVER`); undefined when it is usable.
 * Proofs and tokens go to this URL, so nothing ambiguous is accepted.
 */
export function serverUrlProblem(server: string, source = '--server'): string | undefined {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return `${source} must be an http:// or https:// URL, got ${JSON.stringify(server)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `${source} must be an http:// or https:// URL, got ${JSON.stringify(server)}`;
  }
  if (url.search !== '' || url.hash !== '') return `${source} must not have a query or fragment`;
  if (url.username !== '' || url.password !== '') return `${source} must not hold credentials`;
  return undefined;
}
