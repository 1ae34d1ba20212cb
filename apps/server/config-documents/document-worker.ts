import { workerData } from 'piscina';
import type { AttestorDescriptor } from '@libs/attestors/attestor';
import type { AuditEvent, SimulationResult } from '@libs/contracts/admin-api';
import { compileAgentAttestation, type AgentAttestationSpec, type SectionName } from '@libs/policy';
// the file, not the lib's index: a worker loads only what replaying needs
import { replayLogins, replayRegistry } from '@libs/login/login-replay';
import { validateSection, type SectionValidation } from './section-validation';

// The document worker thread (`document-workers.ts` runs it): the steps whose
// cost grows with a 1 MiB document or 10,000 replayed logins, kept off the
// event loop that serves logins. Each export is one kind of task.

/** Plain data only: the attestors' descriptors, without their verify functions. */
export interface DocumentWorkerData {
  catalog: AttestorDescriptor[];
}

const { catalog } = workerData as DocumentWorkerData;

export interface ValidateTask {
  section: SectionName;
  body: string;
  contentType?: 'yaml' | 'json';
}

export function validate(task: ValidateTask): SectionValidation {
  return validateSection(task.section, task.body, catalog, task.contentType);
}

export interface SimulateTask {
  /** a validated AgentAttestation spec */
  spec: AgentAttestationSpec;
  attempts: AuditEvent[];
  trustDomain: string;
  now: Date;
}

export function simulate(task: SimulateTask): Promise<Omit<SimulationResult, 'window'>> {
  const policies = compileAgentAttestation(task.spec, catalog);
  return replayLogins(task.attempts, {
    policies,
    registry: replayRegistry(catalog),
    trustDomain: task.trustDomain,
    now: task.now,
  });
}
