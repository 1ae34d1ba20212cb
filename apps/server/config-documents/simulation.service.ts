import { Inject, Injectable } from '@nestjs/common';
import type { SimulationResult } from '@libs/contracts/admin-api';
import { AuditRepository } from '@libs/persistence';
import type { AgentAttestationSpec, ConfigDocument } from '@libs/policy';
import { ApiError } from '@libs/contracts/api-error';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';
import { DocumentWorkers } from './document-workers';

export const DEFAULT_SIMULATION_LIMIT = 1000;
export const MAX_SIMULATION_LIMIT = 10000;

export interface SimulationWindow {
  limit: number;
  since?: Date;
}

/**
 * `POST /v1/config/AgentAttestation/simulate` (`api.md`): the recent login
 * attempts in the audit log replayed against a candidate document, which is
 * neither stored nor activated. Read-only, so viewers may run it.
 */
@Injectable()
export class SimulationService {
  constructor(
    private readonly audit: AuditRepository,
    private readonly workers: DocumentWorkers,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  /** `document` has been validated as PUT validates it. */
  async simulate(document: ConfigDocument, window: SimulationWindow): Promise<SimulationResult> {
    if (document.section !== 'AgentAttestation') {
      // Other sections change how proofs verify; proofs are never stored, so they cannot be replayed.
      throw new ApiError(
        'invalid_request',
        `only AgentAttestation documents can be simulated, not ${document.section}`,
      );
    }
    const attempts = await this.audit.recentLogins(window);
    // compiling and replaying grow with the document and the window: the worker's job
    const replayed = await this.workers.simulate(
      document.spec as AgentAttestationSpec,
      attempts,
      this.settings.trustDomain,
      new Date(),
    );
    return {
      ...replayed,
      window: {
        limit: window.limit,
        since: window.since?.toISOString() ?? null,
        oldest: attempts.at(-1)?.at ?? null,
        newest: attempts[0]?.at ?? null,
      },
    };
  }
}

/** `?limit=`: how many recent attempts, 1 to MAX_SIMULATION_LIMIT. */
export function simulationLimit(limit: string | undefined): number {
  if (limit === undefined) return DEFAULT_SIMULATION_LIMIT;
  if (!/^[0-9]{1,5}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_SIMULATION_LIMIT) {
    throw new ApiError('invalid_request', `limit must be an integer from 1 to ${MAX_SIMULATION_LIMIT}`, [
      { path: 'limit', message: `must be 1..${MAX_SIMULATION_LIMIT}` },
    ]);
  }
  return Number(limit);
}
