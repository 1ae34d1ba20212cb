#!/usr/bin/env node
import { productVersion } from '@libs/cli-support/version';
import { loosenHeapGrowth } from './heap-growth';
import { parseServerCommandLine, serverUsage, ServerUsageError, type ServerInvocation } from './command-line';
import type { Settings } from './settings/settings';
import { oneLine } from './start-failure';

async function main(): Promise<void> {
  const invocation = readCommandLine(process.argv.slice(2));
  if (invocation.name !== 'run') {
    process.stdout.write(invocation.name === 'help' ? serverUsage() : `attestd ${productVersion()}\n`);
    return;
  }
  // Settings first, so a wrong one is said at once; NestJS, Prisma and the
  // cloud SDKs, loaded only to run, take seconds to load.
  const { loadSettings, SettingsError } = await import('./settings/settings.js');
  // A wrong setting, found reading the settings or starting with them (a
  // key that opens no stored key, another trust domain than the stored
  // CA's, a database URL that reaches no database), is one line naming it
  // and the fix.
  const stopOnSettingError = (error: unknown) => {
    if (!(error instanceof SettingsError)) return;
    process.stderr.write(`attestd: ${oneLine(error)}\n`);
    process.exit(2);
  };
  let settings: Settings;
  try {
    settings = loadSettings(process.env, invocation.configFile);
  } catch (error) {
    stopOnSettingError(error);
    throw error;
  }
  loosenHeapGrowth();
  const { createLogger } = await import('./logging/logger.js');
  const { startServer } = await import('./server.js');
  const logger = createLogger(settings.logLevel);
  try {
    const server = await startServer(settings, logger);
    if (server.generatedAdminToken) {
      // Printed once, to the terminal only (never to the JSON log): only its hash is stored.
      process.stderr.write(
        `\nattestd: generated an admin token (shown only this once; only its hash is stored):\n\n    ${server.generatedAdminToken}\n\n` +
          `  export ATTESTD_TOKEN=${server.generatedAdminToken}\n\n`,
      );
    }
    logger.info(
      {
        url: server.url,
        trustDomain: settings.trustDomain,
        database: settings.database.kind,
        version: productVersion(),
      },
      'attestd listening',
    );
  } catch (error) {
    // the whole error, stack included, for a bug report; the operator gets one line
    logger.debug({ err: error }, 'attestd: start failed');
    stopOnSettingError(error);
    throw error;
  }
}

function readCommandLine(argv: string[]): ServerInvocation {
  try {
    return parseServerCommandLine(argv);
  } catch (error) {
    if (!(error instanceof ServerUsageError)) throw error;
    process.stderr.write(`attestd: ${error.message}\nrun 'attestd --help' for usage\n`);
    process.exit(2);
  }
}

main().catch((error: unknown) => {
  // A security service that cannot start as configured must not start at all.
  process.stderr.write(`attestd: failed to start: ${oneLine(error)}\n`);
  process.exit(1);
});
