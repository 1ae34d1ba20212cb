import { builtInDescriptors } from '../../libs/attestors/catalog';
import type { AttestorDescriptor } from '../../libs/attestors/attestor';
import { validateDocument, type ConfigError } from '../../libs/policy';
import type { DocumentFile } from './documents';

/** The built-in attestors as validation sees them: descriptors, no ports. */
export function offlineCatalog(): readonly AttestorDescriptor[] {
  return builtInDescriptors();
}

/** The server's validation, run here: the same library, the built-in attestors. */
export function validateOffline(document: DocumentFile, catalog: readonly AttestorDescriptor[] = offlineCatalog()): ConfigError[] {
  const result = validateDocument(document.section, document.text, catalog, { contentType: document.type });
  return result.ok ? [] : result.errors;
}
