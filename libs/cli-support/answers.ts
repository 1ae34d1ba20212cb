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
