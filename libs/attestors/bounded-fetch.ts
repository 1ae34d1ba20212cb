/**
 * GETs a JSON object from a remote key or metadata endpoint: no redirects,
 * one deadline for the whole exchange (headers and body), and a size cap
 * enforced while the body streams in: at the cap the transfer is aborted,
 * so a broken or hostile endpoint sending an endless body costs at most
 * `maxBytes` of memory. Written here because fetch has no size limit, and
 * undici's `maxResponseSize` needs undici's own dispatcher, not Node's fetch.
 * Throws an Error whose message says what went wrong; callers wrap it.
 */
export async function fetchJsonObject(
  url: string,
  options: { timeoutMs: number; maxBytes: number; accept: string },
): Promise<Record<string, unknown>> {
  const hangUp = new AbortController();
  const response = await fetch(url, {
    redirect: 'error',
    signal: AbortSignal.any([hangUp.signal, AbortSignal.timeout(options.timeoutMs)]),
    headers: { accept: options.accept },
  });
  try {
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > options.maxBytes) throw new Error(`answer is larger than ${options.maxBytes} bytes`);
    const text = await readCapped(response, options.maxBytes);
    const body: unknown = JSON.parse(text);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new Error('answer is not a JSON object');
    return body as Record<string, unknown>;
  } finally {
    // whatever was not read is not wanted: close the connection rather than drain it
    hangUp.abort();
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error(`answer is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
