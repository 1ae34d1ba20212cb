import { formatConfigError } from '../../../libs/policy';
import type { VersionHistory } from '../../../libs/contracts/admin-api';
import type { Command } from '../cli';
import { AdminApiError } from '../client';
import { isJson, printJson, type Context } from '../context';
import { readDocumentFile, type DocumentFile } from '../documents';
import { CommandFailed } from '../errors';
import { validateOffline } from '../offline-validation';
import { clean, formatTime, renderTable, shortSha } from '../table';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/** `config apply -f FILE`: PUT the document as a new version of its section. */
export async function configApply(context: Context, command: Of<'config apply'>): Promise<void> {
  const document = await readDocumentFile(command.file, context.hooks.readText);
  const summary = await inFile(document, () => context.client.pushConfig(document.section, document.text, document.type));
  if (isJson(context)) return printJson(context, summary);
  context.io.stdout(`${clean(summary.section)} version ${summary.version} (sha256 ${clean(summary.sha256)})\n`);
}

/** `config validate -f FILE [--offline]`: the server's dry run, or the same library here. */
export async function configValidate(context: Context, command: Of<'config validate'>): Promise<void> {
  const document = await readDocumentFile(command.file, context.hooks.readText);
  const where = command.offline ? ' (offline, built-in attestors)' : '';
  if (command.offline) {
    const errors = validateOffline(document);
    if (errors.length > 0) {
      if (isJson(context)) printJson(context, { valid: false, errors });
      throw new CommandFailed(
        `${document.file}: ${document.section} document is invalid${where}: ${errors.length} ${errors.length === 1 ? 'error' : 'errors'}`,
        errors.map((error) => formatConfigError(error, document.file)),
      );
    }
  } else {
    try {
      await inFile(document, () => context.client.validateConfig(document.section, document.text, document.type));
    } catch (error) {
      if (error instanceof AdminApiError && error.code === 'invalid_config' && isJson(context)) {
        printJson(context, { valid: false, errors: error.errors });
      }
      throw error;
    }
  }
  if (isJson(context)) return printJson(context, { valid: true });
  context.io.stdout(`${document.file}: valid ${document.section} document${where}\n`);
}

/** `config get SECTION [--version N]`: the text as pushed, or the stored version as JSON. */
export async function configGet(context: Context, command: Of<'config get'>): Promise<void> {
  if (isJson(context)) return printJson(context, await context.client.getConfig(command.section, command.version));
  const text = await context.client.getConfigText(command.section, command.version);
  context.io.stdout(text.endsWith('\n') ? text : `${text}\n`);
}

/** `config history SECTION` */
export async function configHistory(context: Context, command: Of<'config history'>): Promise<void> {
  const history: VersionHistory = await context.client.configHistory(command.section);
  if (isJson(context)) return printJson(context, history);
  context.io.stdout(
    renderTable(
      ['VERSION', 'SHA256', 'CREATED', 'BY'],
      history.items.map((v) => [String(v.version), shortSha(v.sha256), formatTime(v.createdAt), v.createdBy]),
    ),
  );
}

/** `config simulate -f FILE`: what the candidate would change for recent logins. */
export async function configSimulate(context: Context, command: Of<'config simulate'>): Promise<void> {
  const document = await readDocumentFile(command.file, context.hooks.readText);
  const result = await inFile(document, () => context.client.simulateConfig(document.section, document.text, document.type));
  if (isJson(context)) return printJson(context, result);
  const nowAllowed = Array.isArray(result.nowAllowed) ? result.nowAllowed : [];
  const nowDenied = Array.isArray(result.nowDenied) ? result.nowDenied : [];
  const lines = [
    `evaluated ${Number(result.evaluated)} login attempts: ${Number(result.unchanged)} unchanged, ${nowAllowed.length} now allowed, ${nowDenied.length} now denied`,
  ];
  for (const [title, items] of [['now allowed', nowAllowed], ['now denied', nowDenied]] as const) {
    if (items.length === 0) continue;
    lines.push(`${title}:`);
    for (const item of items) lines.push(`  ${clean(describeSimulated(item), 500)}`);
  }
  context.io.stdout(`${lines.join('\n')}\n`);
}

/** `config rollback SECTION --version N` */
export async function configRollback(context: Context, command: Of<'config rollback'>): Promise<void> {
  const summary = await context.client.rollbackConfig(command.section, command.version);
  if (isJson(context)) return printJson(context, summary);
  context.io.stdout(
    `${clean(summary.section)} version ${summary.version} (sha256 ${clean(summary.sha256)}): the content of version ${command.version}\n`,
  );
}

/** Problems about a document name its file, so `errors[]` print as `FILE:LINE:COL /path: message`. */
async function inFile<T>(document: DocumentFile, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw error instanceof AdminApiError ? error.inFile(document.file) : error;
  }
}

/** The simulate endpoint's entries are not pinned down yet: show the fields a person looks for, else the JSON. */
function describeSimulated(item: unknown): string {
  if (typeof item !== 'object' || item === null) return JSON.stringify(item);
  const record = item as Record<string, unknown>;
  const parts = ['at', 'agentId', 'spiffeId', 'policy', 'reason']
    .filter((key) => typeof record[key] === 'string' && record[key] !== '')
    .map((key) => `${key}=${String(record[key])}`);
  return parts.length > 0 ? parts.join(' ') : JSON.stringify(item);
}
