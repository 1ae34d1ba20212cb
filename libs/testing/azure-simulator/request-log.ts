import type { AzureService } from './world';

// Every request the simulator answered, for tests to count and inspect.

export interface LogEntry {
  service: AzureService | 'unknown';
  /** `virtualMachines.get`, `networkInterfaces.get`, `openid-configuration`, `jwks`, `token`, ... */
  operation: string;
  status: number;
  /** the ARM caller's tenant, once its token verified */
  tenantId?: string;
}

export class RequestLog {
  private list: LogEntry[] = [];

  record(entry: LogEntry): void {
    this.list.push(entry);
  }

  entries(filter: Partial<Pick<LogEntry, 'service' | 'operation' | 'status'>> = {}): LogEntry[] {
    return this.list.filter(
      (e) =>
        (filter.service === undefined || e.service === filter.service) &&
        (filter.operation === undefined || e.operation === filter.operation) &&
        (filter.status === undefined || e.status === filter.status),
    );
  }

  count(filter: Partial<Pick<LogEntry, 'service' | 'operation' | 'status'>> = {}): number {
    return this.entries(filter).length;
  }

  reset(): void {
    this.list = [];
  }
}
