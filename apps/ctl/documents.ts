import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { MAX_DOCUMENT_BYTES, SECTION_NAMES, type SectionName } from '@libs/policy';
import type { DocumentType } from './client';
import { CommandFailed, errorMessage } from './errors';

/** A configuration document read from disk, with what the Admin API needs to take it. */
export interface DocumentFile {
  file: string;
  text: string;
  /** by extension: `.json` is JSON, anything else YAML */
  type: DocumentType;
  /** from the document's own `section:` field */
  section: SectionName;
}

export type ReadText = (file: string) => Promise<string>;

export const readTextFile: ReadText = (file) => readFile(file, 'utf8');

export function documentTypeOf(file: string): DocumentType {
  return extname(file).toLowerCase() === '.json' ? 'json' : 'yaml';
}

/**
 * Reads FILE and finds its section. Syntax errors elsewhere in the document
 * are left for the validator, which places them; only a document whose
 * section cannot be found fails here.
 */
export async function readDocumentFile(file: string, read: ReadText = readTextFile): Promise<DocumentFile> {
  let text: string;
  try {
    text = await read(file);
  } catch (error) {
    throw new CommandFailed(`cannot read ${file}: ${errorMessage(error)}`);
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    throw new CommandFailed(`${file} is larger than ${MAX_DOCUMENT_BYTES} bytes, the most attestd takes`);
  }
  return { file, text, type: documentTypeOf(file), section: sectionOf(file, text) };
}

function sectionOf(file: string, text: string): SectionName {
  // The node is read, never converted to JS: aliases are not expanded here.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  let section: unknown;
  try {
    section = doc.get('section');
  } catch {
    section = undefined;
  }
  if (typeof section === 'string' && (SECTION_NAMES as readonly string[]).includes(section))
    return section as SectionName;
  const expected = `sections: ${SECTION_NAMES.join(', ')}`;
  if (typeof section === 'string')
    throw new CommandFailed(`${file}: unknown section ${JSON.stringify(section)} (${expected})`);
  if (doc.errors.length > 0) {
    throw new CommandFailed(
      `${file} is not a YAML or JSON document`,
      doc.errors.slice(0, 10).map((e) => {
        const at = lineCounter.linePos(e.pos[0]);
        return `${file}:${at.line}:${at.col} ${e.message.split('\n')[0]}`;
      }),
    );
  }
  throw new CommandFailed(`${file} has no section: field (${expected})`);
}
