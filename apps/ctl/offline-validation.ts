import { builtInDescriptors } from '@libs/attestors/catalog';
import type { AttestorDescriptor } from '@libs/attestors/attestor';
import { validateDocument, type ConfigError, type ConfigWarning } from '@libs/policy';
import type { DocumentFile } from './documents';

/** The built-in attestors as validation sees them: descriptors, no ports. */
export function offlineCatalog(): readonly AttestorDescriptor[] {
  return builtInDescriptors();
}

/** The server's validation, run here: the same library, the built-in attestors; a valid document's warnings too. */
export function validateOffline(
  document: DocumentFile,
  catalog: readonly AttestorDescriptor[] = offlineCatalog(),
): { errors: ConfigError[]; warnings: ConfigWarning[] } {
  const result = validateDocument(document.section, document.text, catalog, { contentType: document.type });
  return result.ok ? { errors: [], warnings: result.warnings } : { errors: result.errors, warnings: [] };
}
