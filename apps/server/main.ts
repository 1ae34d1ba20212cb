import { parseArgs } from 'node:util';
import { createLogger } from './logging/logger';
import { startServer } from './server';
import { loadSettings, SettingsError } from './settings/settings';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } }, strict: true });
  let settings;
  try {
    settings = loadSettings(process.env, values.config);
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`attestd: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(settings.logLevel);
  const server = await startServer(settings, logger);
  if (server.generatedAdminToken) {
    // Printed once, to the terminal only (never to the JSON log): only its hash is stored.
    process.stderr.write(
      `\nattestd: generated an admin token (shown only this once; only its hash is stored):\n\n    ${server.generatedAdminToken}\n\n` +
        `  export ATTESTD_TOKEN=${server.generatedAdminToken}\n\n`,
    );
  }
  logger.info({ url: server.url, trustDomain: settings.trustDomain, database: settings.database.kind }, 'attestd listening');
}

main().catch((error: unknown) => {
  // A security service that cannot start as configured must not start at all.
  process.stderr.write(`attestd: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
