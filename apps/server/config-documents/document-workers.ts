import { join } from 'node:path';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { AttestorDescriptor } from '@libs/attestors/attestor';
import type { AuditEvent, SimulationResult } from '@libs/contracts/admin-api';
import type { AgentAttestationSpec, SectionName } from '@libs/policy';
import { ATTESTOR_CATALOG } from '../attestors.module';
import { ApiError } from '@libs/contracts/api-error';
import { LOGGER } from '../logging/logger';
import type { DocumentWorkerData, SimulateTask, ValidateTask } from './document-worker';
import type { SectionValidation } from './section-validation';

/**
 * A task's deadline, from when it is queued. The costliest document the
 * parser's caps let through takes 1-3 s of CPU; a task still running after
 * this is on a machine too loaded to finish it, and its worker is stopped.
 */
export const DOCUMENT_TASK_DEADLINE_MS = 60_000;
/** Tasks that may wait for the worker; more are refused with 429 at once. */
export const MAX_QUEUED_DOCUMENT_TASKS = 8;
/** The worker's heap; the costliest document under the caps needs about 200 MiB. */
const WORKER_HEAP_MB = 512;

// Running from the TypeScript sources (Jest), a worker thread needs the same
// on-the-fly compilation Jest gives this thread; built code has the .js files.
const FROM_SOURCE = __filename.endsWith('.ts');
const WORKER_FILE = join(__dirname, `document-worker${FROM_SOURCE ? '.ts' : '.js'}`);
const SOURCE_LOADER = join(__dirname, '..', '..', '..', 'test', 'support', 'typescript-in-workers.js');

/**
 * Parsing and validating a configuration document costs up to ~2 s of CPU
 * for 1 MiB (the `yaml` parser alone is ~1 µs a byte), and a simulation
 * replays up to 10,000 logins: far more than the ~100 ms a request may hold
 * the event loop that serves logins and `/healthz`. So both run here, on one
 * worker thread (the server has two cores: one for the event loop, one for
 * this), with a bounded queue and a deadline. Piscina keeps the thread, starts
 * it on first use, stops it when idle and replaces it if it dies.
 */
@Injectable()
export class DocumentWorkers implements OnApplicationShutdown {
  private readonly pool: Piscina;
  private inProgress = 0;

  constructor(
    @Inject(ATTESTOR_CATALOG) catalog: readonly AttestorDescriptor[],
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const workerData: DocumentWorkerData = { catalog: catalog.map(plainDescriptor) };
    this.pool = new Piscina({
      filename: WORKER_FILE,
      name: 'validate',
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: 60_000,
      maxQueue: MAX_QUEUED_DOCUMENT_TASKS,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      workerData,
      ...(FROM_SOURCE && { execArgv: ['--require', SOURCE_LOADER] }),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.destroy();
  }

  validate(section: SectionName, body: string, contentType?: 'yaml' | 'json'): Promise<SectionValidation> {
    const task: ValidateTask = { section, body, ...(contentType && { contentType }) };
    return this.run(task, 'validate');
  }

  simulate(
    spec: AgentAttestationSpec,
    attempts: AuditEvent[],
    trustDomain: string,
    now: Date,
  ): Promise<Omit<SimulationResult, 'window'>> {
    const task: SimulateTask = { spec, attempts, trustDomain, now };
    return this.run(task, 'simulate');
  }

  /** Tasks handed to the worker and not yet answered (queued or running). */
  get tasksInProgress(): number {
    return this.inProgress;
  }

  private async run<T>(task: ValidateTask | SimulateTask, name: 'validate' | 'simulate'): Promise<T> {
    this.inProgress++;
    try {
      return (await this.pool.run(task, { name, signal: AbortSignal.timeout(DOCUMENT_TASK_DEADLINE_MS) })) as T;
    } catch (error) {
      throw this.refusal(error, name) ?? error;
    } finally {
      this.inProgress--;
    }
  }

  /** The answer for a task the pool did not run to its end; undefined for a bug (a 500). */
  private refusal(error: unknown, name: string): ApiError | undefined {
    const { name: kind, message, code } = error as { name?: string; message?: string; code?: string };
    if (message === 'Task queue is at limit') {
      this.logger.warn(
        { task: name, queued: this.pool.queueSize },
        'config: document worker queue is full; task refused',
      );
      return new ApiError(
        'rate_limited',
        `${MAX_QUEUED_DOCUMENT_TASKS} configuration documents are already waiting to be checked; retry shortly`,
        undefined,
        { 'retry-after': '1' },
      );
    }
    if (kind === 'AbortError' || kind === 'TimeoutError') {
      this.logger.warn(
        { task: name, deadlineMs: DOCUMENT_TASK_DEADLINE_MS },
        'config: document task passed its deadline; worker stopped',
      );
      return new ApiError(
        'unavailable',
        `the server could not finish checking the document within ${DOCUMENT_TASK_DEADLINE_MS / 1000} s; retry later`,
        undefined,
        { 'retry-after': '10' },
      );
    }
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
      this.logger.warn(
        { task: name, heapMb: WORKER_HEAP_MB },
        'config: document worker ran out of memory; worker replaced',
      );
      return new ApiError(
        'invalid_config',
        `the document needs more than ${WORKER_HEAP_MB} MiB of memory to check; make it smaller`,
      );
    }
    return undefined;
  }
}

function plainDescriptor(descriptor: AttestorDescriptor): AttestorDescriptor {
  const {
    type,
    attributes,
    singleValued,
    nodeUnique,
    callerChosen,
    configSchema,
    proofSchema,
    defaultSpiffeIdPath,
    bindsChallenge,
  } = descriptor;
  return {
    type,
    attributes,
    singleValued,
    nodeUnique,
    callerChosen,
    configSchema,
    proofSchema,
    defaultSpiffeIdPath,
    bindsChallenge,
  };
}
