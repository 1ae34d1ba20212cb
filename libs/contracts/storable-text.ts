/**
 * Why PostgreSQL could not store this text, or undefined when it can: its
 * `text` and `jsonb` types refuse U+0000, and an unpaired UTF-16 surrogate
 * (which JSON `\ud800` escapes make) has no UTF-8 form. Such text is refused
 * where it enters (400 or 422), never left to fail at the database (500).
 */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  // with the u flag a well-formed pair is one code point, so only a lone half matches
  if (/\p{Surrogate}/u.test(text)) return 'must be well-formed Unicode (it has an unpaired surrogate)';
  return undefined;
}

/**
 * The text with what PostgreSQL cannot store replaced by U+FFFD. For text
 * the server writes *about* a request (an audit reason quoting a bad key),
 * so the record of a refusal is never lost to its own content; never for
 * what a caller asked to store, which is refused instead.
 */
export function storableText(text: string): string {
  return unstorableText(text) === undefined ? text : text.replace(/\u0000|\p{Surrogate}/gu, '\ufffd');
}

/**
 * The JSON pointer of the first string (value or key) in a parsed JSON body
 * that cannot be stored, and why. Iterative: a 64 KiB body can nest 30,000 deep.
 */
export function findUnstorableText(body: unknown): { path: string; message: string } | undefined {
  const pending: [unknown, string][] = [[body, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === 'string') {
      const message = unstorableText(value);
      if (message !== undefined) return { path: path || '/', message };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) pending.push([value[i], `${path}/${i}`]);
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const childPath = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        const message = unstorableText(key);
        if (message !== undefined) return { path: childPath, message: `key ${message}` };
        pending.push([child, childPath]);
      }
    }
  }
  return undefined;
}
