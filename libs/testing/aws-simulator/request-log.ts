import type { ServiceName } from './world';

// Every request the simulator answered (or refused), for tests to count and
// inspect: "a burst of 200 new instances costs at most 10 DescribeInstances".

export interface LoggedCaller {
  accessKeyId: string;
  accountId: string;
  arn: string;
}

export interface LogEntry {
  /** undefined when the request named no service we speak */
  service: ServiceName | undefined;
  /** `DescribeInstances`, `ListNodegroups`, ...; `unknown` when none */
  operation: string;
  /** the signer, once the signature verified */
  caller?: LoggedCaller;
  /** signing region from the credential scope */
  region?: string;
  /** request parameters (form fields, JSON body or path and query) */
  params: Record<string, unknown>;
  time: Date;
  status: number;
  /** AWS error code when refused (`Throttling`, `SignatureDoesNotMatch`, ...) */
  error?: string;
}

export interface LogFilter {
  service?: ServiceName;
  operation?: string;
  /** only answered (2xx) calls */
  succeeded?: boolean;
  accountId?: string;
}

export class RequestLog {
  private list: LogEntry[] = [];

  record(entry: LogEntry): void {
    this.list.push(entry);
  }

  /** A copy of the entries, oldest first, optionally filtered. */
  entries(filter: LogFilter = {}): LogEntry[] {
    return this.list.filter(
      (e) =>
        (filter.service === undefined || e.service === filter.service) &&
        (filter.operation === undefined || e.operation === filter.operation) &&
        (filter.succeeded === undefined || e.status < 300 === filter.succeeded) &&
        (filter.accountId === undefined || e.caller?.accountId === filter.accountId),
    );
  }

  count(filter: LogFilter = {}): number {
    return this.entries(filter).length;
  }

  reset(): void {
    this.list = [];
  }
}
