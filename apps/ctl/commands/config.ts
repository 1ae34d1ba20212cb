import { formatConfigError } from '@libs/policy';
import type { ConfigWarning, SimulatedLogin, SimulationResult, VersionHistory } from '@libs/contracts/admin-api';
import type { Command } from '../cli';
import { AdminApiError } from '../client';
import { isJson, printJson, type Context } from '../context';
import { readDocumentFile, type DocumentFile } from '../documents';
import { CommandFailed } from '../errors';
import { validateOffline } from '../offline-validation';
import { clean, formatTime, orDash, renderTable, shortSha, type Column } from '../table';
import { resolveSince } from './audit';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/** `config apply -f FILE`: PUT the document as a new version of its section. */
export async function configApply(context: Context, command: Of<'config apply'>): Promise<void> {
  const document = await readDocumentFile(command.file, context.hooks.readText);
  const summary = await inFile(document, () =>
    context.client.pushConfig(document.section, document.text, document.type),
  );
  if (isJson(context)) return printJson(context, { ...summary, warnings: summary.warnings ?? [] });
  printWarnings(context, document, summary.warnings);
  context.io.stdout(`${clean(summary.section)} version ${summary.version} (sha256 ${clean(summary.sha256)})\n`);
}

/** `config validate -f FILE [--offline]`: the server's dry run, or the same library here. */
export async function configValidate(context: Context, command: Of<'config validate'>): Promise<void> {
  const document = await readDocumentFile(command.file, context.hooks.readText);
  const where = command.offline ? ' (offline, built-in attestors)' : '';
  let warnings: ConfigWarning[] = [];
  if (command.offline) {
    const { errors, warnings: found } = validateOffline(document);
    warnings = found;
    if (errors.length > 0) {
      if (isJson(context)) printJson(context, { valid: false, errors });
      throw new CommandFailed(
        `${document.file}: ${document.section} document is invalid${where}: ${errors.length} ${errors.length === 1 ? 'error' : 'errors'}`,
        errors.map((error) => formatConfigError(error, document.file)),
      );
    }
  } else {
    try {
      warnings =
        (await inFile(document, () => context.client.validateConfig(document.section, document.text, document.type)))
          .warnings ?? [];
    } catch (error) {
      if (error instanceof AdminApiError && error.code === 'invalid_config' && isJson(context)) {
        printJson(context, { valid: false, errors: error.errors });
      }
      throw error;
    }
  }
  if (isJson(context)) return printJson(context, { valid: true, warnings });
  printWarnings(context, document, warnings);
  context.io.stdout(`${document.file}: valid ${document.section} document${where}\n`);
}

/**
 * A valid document's warnings (a SPIFFE ID template two nodes can render
 * alike), on stderr as `FILE:LINE:COL /path: warning: message`, the way
 * compilers print them; they never fail the command.
 */
function printWarnings(context: Context, document: DocumentFile, warnings: readonly ConfigWarning[] | undefined): void {
  for (const warning of warnings ?? [])
    context.io.stderr(
      `${clean(formatConfigError({ ...warning, message: `warning: ${warning.message}` }, document.file))}\n`,
    );
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

/** `config simulate -f FILE [--limit N] [--since T]`: what the candidate would change for recent logins. */
export async function configSimulate(context: Context, command: Of<'config simulate'>): Promise<void> {
  const document = await readDocumentFile(command.file, context.hooks.readText);
  const since = resolveSince(command.since, context.hooks.now());
  const window = {
    ...(command.limit !== undefined && { limit: command.limit }),
    ...(since !== undefined && { since }),
  };
  const result = await inFile(document, () =>
    context.client.simulateConfig(document.section, document.text, document.type, window),
  );
  if (isJson(context)) return printJson(context, result);
  const rows = [
    ...result.nowAllowed.map((item) => simulatedRow('now allowed', item)),
    ...result.nowDenied.map((item) => simulatedRow('now denied', item)),
    ...result.changed.map((item) => simulatedRow('changed', item)),
  ];
  context.io.stdout(`${simulationSummary(result)}\n${rows.length > 0 ? renderTable(SIMULATED_COLUMNS, rows) : ''}`);
}

const SIMULATED_COLUMNS: Column[] = [
  { header: 'CHANGE' },
  { header: 'AT' },
  { header: 'ATTESTORS' },
  { header: 'AGENT' },
  { header: 'BEFORE', max: 120 },
  { header: 'AFTER', max: 160 },
];

function simulationSummary(result: SimulationResult): string {
  const counts = [
    `${result.unchanged} unchanged`,
    `${result.nowAllowed.length} now allowed`,
    `${result.nowDenied.length} now denied`,
    `${result.changed.length} changed`,
  ];
  const skipped = result.skipped > 0 ? `; ${result.skipped} skipped (no verified proof recorded)` : '';
  return `evaluated ${result.evaluated} login attempts: ${counts.join(', ')}${skipped}`;
}

function simulatedRow(change: string, item: SimulatedLogin): string[] {
  const before = item.was.allowed ? identity(item.was.policy, item.was.spiffeId) : `denied (${orDash(item.was.code)})`;
  const after = item.now.allowed ? identity(item.now.policy, item.now.spiffeId) : `denied: ${orDash(item.now.reason)}`;
  return [change, formatTime(item.at), item.attestors.join(','), orDash(item.agentId), before, after];
}

function identity(policy: string | null, spiffeId: string | null): string {
  return [policy, spiffeId].filter((part) => part !== null).join(' ') || 'allowed';
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
