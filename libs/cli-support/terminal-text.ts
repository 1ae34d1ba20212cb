/** Server text goes to a terminal: no control characters, bounded length. */
export function clean(text: string, max = 2000): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
