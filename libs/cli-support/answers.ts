import { clean } from './terminal-text';

/** What a CLI says of a server answer that is not the JSON it expected. */
export function describeBody(contentType: string, text: string): string {
  const type = contentType === '' ? 'no content type' : clean(contentType, 100);
  return text === '' ? `empty answer (${type})` : `answer is not a JSON document (${type})`;
}

/** The parsed JSON, or undefined for text that is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parts of a problem document both CLIs print, cleaned for a terminal; undefined when `json` is not one. */
export function readProblem(
  json: unknown,
  maxDetail: number,
): { code: string; detail: string; requestId?: string } | undefined {
  if (!isRecord(json) || typeof json.code !== 'string') return undefined;
  const detail = typeof json.detail === 'string' && json.detail !== '' ? json.detail : String(json.title ?? '');
  return {
    code: clean(json.code, 64),
    detail: clean(detail, maxDetail),
    ...(typeof json.requestId === 'string' && { requestId: clean(json.requestId, 128) }),
  };
}
