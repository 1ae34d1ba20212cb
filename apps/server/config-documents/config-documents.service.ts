import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import type { ConfigWarning, PushedVersion, ValidationAnswer } from '@libs/contracts/admin-api';
import { formatConfigError, type ConfigError, type SectionName } from '@libs/policy';
import {
  ConfigRepository,
  listenForConfigNotices,
  type ConfigNotice,
  type ConfigNoticeListener,
  type StoredConfigVersion,
} from '@libs/persistence';
import { ApiError } from '@libs/contracts/api-error';
import { LOGGER } from '../logging/logger';
import { SETTINGS } from '../settings/settings.module';
import { envName, SettingsError, type Settings } from '../settings/settings';
import { INSTRUMENTS } from '../telemetry/instruments';
import { Metrics } from '../telemetry/metrics';
import { ActiveConfig, SECTIONS, type ActiveSection } from './active-config';
import { DocumentWorkers } from './document-workers';

/**
 * How often a replica checks for versions pushed through another replica
 * while it cannot LISTEN (embedded database, or the listening connection is
 * down); once LISTEN is in place the check only backs it up, every
 * `configPollInterval`.
 */
const UNLISTENED_POLL_INTERVAL_MS = 1000;

/** How long a start waits for the configuration listener's first connection. */
const FIRST_LISTEN_WAIT_MS = 5000;

export interface VersionSummary {
  section: string;
  version: number;
  sha256: string;
  createdAt: string;
}

/**
 * Configuration documents (`policy.md`): validation, immutable versions,
 * activation without restart. Other replicas' pushes arrive through
 * PostgreSQL LISTEN/NOTIFY (`operations.md`, scale-out), backed by a cheap
 * periodic check of each section's newest version number.
 */
@Injectable()
export class ConfigDocumentsService implements OnModuleInit, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private listener: ConfigNoticeListener | undefined;
  private stopped = false;
  private refreshing: Promise<void> | undefined;
  /** a refresh asked for while one runs: that one may have read the heads too early */
  private queuedRefresh: Promise<void> | undefined;

  constructor(
    private readonly versions: ConfigRepository,
    readonly active: ActiveConfig,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly workers: DocumentWorkers,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.seedFromPoliciesDir();
    await this.refresh();
    // Ready means listening (or known not to be): the first attempt is
    // awaited, boundedly, so a replica does not serve while deaf to pushes.
    let firstAttempt: () => void = () => undefined;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    this.listener = listenForConfigNotices(this.settings.database, {
      onNotice: (notice) => this.noticed(notice),
      onListening: () => {
        firstAttempt();
        this.logger.info('config: listening for configuration changes');
        // notices sent while the connection was down are lost: catch up
        this.scheduleCheck(0);
      },
      onLost: (error, retryInMs) => {
        firstAttempt();
        this.logger.warn(
          { reason: error.message, retryInMs },
          'config: lost the configuration change listener; reconnecting',
        );
        this.scheduleCheck();
      },
    });
    this.scheduleCheck();
    if (this.settings.database.kind === 'postgres') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        attempted,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_LISTEN_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.listener?.close();
  }

  private noticed(notice: ConfigNotice): void {
    const section = SECTIONS.find((name) => name === notice.section);
    if (section && notice.version > this.active.version(section)) void this.refreshQuietly();
  }

  /** The fallback version check: often while unlistened, rarely once LISTEN works. */
  private scheduleCheck(
    delayMs = this.listener?.listening ? this.settings.configPollIntervalSeconds * 1000 : UNLISTENED_POLL_INTERVAL_MS,
  ): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.refreshQuietly().finally(() => this.scheduleCheck());
    }, delayMs);
    this.timer.unref();
  }

  /** Validates and stores a new version, and activates it here at once; the answer carries the document's warnings. */
  async push(
    section: SectionName,
    body: string,
    contentType: 'yaml' | 'json',
    actor: string,
    requestId?: string,
  ): Promise<PushedVersion> {
    const checked = await this.validateOrThrow(section, body, contentType);
    const { stored } = await this.versions.push({
      section,
      document: checked.document,
      source: body,
      sha256: checked.sha256,
      createdBy: actor,
      ...(requestId !== undefined && { requestId }),
    });
    await this.install(stored);
    return { ...summary(stored), warnings: checked.warnings.map(placed) };
  }

  /** Validated on the document worker (`document-workers.ts`), never on the event loop. */
  async validateOrThrow(section: SectionName, body: string, contentType?: 'yaml' | 'json') {
    const checked = await this.workers.validate(section, body, contentType);
    if (!checked.ok) {
      throw new ApiError(
        'invalid_config',
        `${section} document is invalid: ${checked.errors
          .slice(0, 5)
          .map((e) => formatConfigError(e))
          .join('; ')}`,
        checked.errors.map(placed),
      );
    }
    return checked;
  }

  /** The dry run of `POST …/validate`: valid, with the document's warnings, or 422. */
  async validate(section: SectionName, body: string, contentType?: 'yaml' | 'json'): Promise<ValidationAnswer> {
    return { valid: true, warnings: (await this.validateOrThrow(section, body, contentType)).warnings.map(placed) };
  }

  async get(section: SectionName, version?: number): Promise<StoredConfigVersion> {
    const stored =
      version === undefined ? await this.versions.latest(section) : await this.versions.get(section, version);
    if (!stored)
      throw new ApiError(
        'not_found',
        version === undefined ? `${section} has no version yet` : `${section} has no version ${version}`,
      );
    return stored;
  }

  async history(section: SectionName) {
    return this.versions.versions(section);
  }

  async rollback(section: SectionName, version: number, actor: string, requestId?: string): Promise<PushedVersion> {
    const old = await this.get(section, version);
    // Re-validated: an old document may no longer fit today's attestors.
    return this.push(section, old.source, 'yaml', actor, requestId);
  }

  /** Loads every section's newest version that this replica does not have yet. */
  async refresh(): Promise<void> {
    if (this.refreshing) {
      this.queuedRefresh ??= this.refreshing
        .catch(() => undefined)
        .then(() => {
          this.queuedRefresh = undefined;
          return this.refresh();
        });
      return this.queuedRefresh;
    }
    this.refreshing = this.installNewVersions().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async installNewVersions(): Promise<void> {
    const heads = await this.versions.heads();
    for (const section of SECTIONS) {
      const head = heads.get(section) ?? 0;
      if (head <= this.active.version(section)) continue;
      const stored = await this.versions.get(section, head);
      if (stored) await this.install(stored);
    }
  }

  private async refreshQuietly(): Promise<void> {
    try {
      await this.refresh();
    } catch (error) {
      this.logger.warn({ err: error }, 'config: cannot check for new configuration versions');
    }
  }

  private async install(stored: StoredConfigVersion): Promise<void> {
    const section = stored.section as SectionName;
    if (stored.version <= this.active.version(section)) return;
    const entry: ActiveSection = {
      section,
      version: stored.version,
      sha256: stored.sha256,
      document: stored.document as ActiveSection['document'],
    };
    if (!(await this.active.activate(entry))) return;
    this.metrics.set(INSTRUMENTS.configVersion, stored.version, { section });
    this.logger.info({ section, version: stored.version, sha256: stored.sha256 }, 'Configuration activated');
  }

  /**
   * At first start, each `policies/*.yaml` becomes version 1 of its section
   * when the database has none. A file that does not validate stops the
   * server: starting without the intended policies would fail open or shut.
   * Later the database holds the configuration and the files are not read
   * again; one that differs from its section's active version is named in
   * an info line, so an edit does not go unapplied without a word.
   */
  private async seedFromPoliciesDir(): Promise<void> {
    const dir = this.settings.policiesDir;
    if (!existsSync(dir)) return;
    const files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
    const ignored: string[] = [];
    for (const file of files) {
      const body = readFileSync(join(dir, file), 'utf8');
      const section = sectionOf(body);
      if (!section)
        throw policiesFileError(`${join(dir, file)} names no known section (expected one of ${SECTIONS.join(', ')})`);
      const latest = await this.versions.latest(section);
      if (latest) {
        if (this.differs(section, body, latest)) ignored.push(join(dir, file));
        continue;
      }
      const checked = this.active.validate(section, body, 'yaml');
      if (!checked.ok)
        throw policiesFileError(
          `${join(dir, file)} is invalid: ${checked.errors.map((e) => formatConfigError(e, file)).join('; ')}`,
        );
      for (const warning of checked.warnings)
        this.logger.warn(
          { section, file: join(dir, file), warning: formatConfigError(warning, file) },
          'config: policies file loaded with a warning',
        );
      await this.versions.push({
        section,
        document: checked.document,
        source: body,
        sha256: checked.sha256,
        createdBy: `file:${file}`,
      });
    }
    if (ignored.length > 0) {
      this.logger.info(
        { files: ignored, policiesDir: dir },
        `config: ${ignored.length} policies file(s) differ from the active configuration and were not applied (the database holds it; policiesDir only seeds an empty one); apply one with: attestctl config apply -f FILE`,
      );
    }
  }

  /** Whether a policies file says something else than its section's stored version: another text that is not the same document. */
  private differs(section: SectionName, body: string, latest: StoredConfigVersion): boolean {
    if (body === latest.source) return false;
    const checked = this.active.validate(section, body, 'yaml');
    return !checked.ok || checked.sha256 !== latest.sha256;
  }
}

/** A policies file that cannot seed the database stops the start like a wrong setting: one line naming policiesDir. */
function policiesFileError(problem: string): SettingsError {
  return new SettingsError(`policiesDir (${envName('policiesDir')}): ${problem}`);
}

function sectionOf(body: string): SectionName | undefined {
  try {
    const parsed = parseYaml(body, { maxAliasCount: 0 }) as { section?: unknown } | null;
    const name = parsed?.section;
    return typeof name === 'string' && (SECTIONS as readonly string[]).includes(name)
      ? (name as SectionName)
      : undefined;
  } catch {
    return undefined;
  }
}

/** An error or warning as the API answers it: `{ path, line?, column?, message }`. */
function placed(problem: ConfigError): ConfigWarning {
  return {
    path: problem.path,
    message: problem.message,
    ...(problem.line !== undefined && { line: problem.line }),
    ...(problem.column !== undefined && { column: problem.column }),
  };
}

export function summary(stored: StoredConfigVersion): VersionSummary {
  return {
    section: stored.section,
    version: stored.version,
    sha256: stored.sha256,
    createdAt: stored.createdAt.toISOString(),
  };
}
