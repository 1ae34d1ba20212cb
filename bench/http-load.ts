import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { latencyLog } from './latency-log';

// The load generator: HTTP/1.1 keep-alive over node:http, closed loop (N
// clients back to back: saturation) or open loop (a fixed arrival rate,
// latency counted from each operation's scheduled time so a slow server
// cannot hide its queue: no coordinated omission).

export interface HttpAnswer {
  status: number;
  body: string;
}

export class HttpClient {
  private agent: Agent;
  private readonly maxSockets: number;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, maxSockets: number) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.maxSockets = maxSockets;
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /**
   * Drops the idle keep-alive connections: after a pause longer than the
   * server's keep-alive timeout, a request sent on a connection the server
   * is closing fails with ECONNRESET, which is the pause's doing, not the
   * server's. A timed phase starts on fresh connections.
   */
  fresh(): void {
    this.agent.destroy();
    this.agent = new Agent({ keepAlive: true, maxSockets: this.maxSockets });
  }

  call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method,
          path,
          headers: {
            ...(payload !== undefined && {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(payload),
            }),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** One unit of work (a login, a round trip); resolves to an outcome label, `ok` when it succeeded. */
export type Operation = (index: number) => Promise<string>;

export interface LoadResult {
  /** operations finished (any outcome) */
  operations: number;
  succeeded: number;
  outcomes: Record<string, number>;
  seconds: number;
  /** succeeded per second */
  rate: number;
  latencyMs: { mean: number; p50: number; p99: number; max: number };
}

class Recorder {
  readonly latencies: number[] = [];
  readonly outcomes: Record<string, number> = {};
  succeeded = 0;

  /** `timed: false`, a warm-up operation: only a failure is counted (as `warm-up: <outcome>`) */
  async time(op: Operation, index: number, since: bigint, timed = true): Promise<void> {
    let outcome: string;
    try {
      outcome = await op(index);
    } catch (error) {
      outcome = `error: ${(error as Error).message}`;
    }
    const latencyMs = Number(process.hrtime.bigint() - since) / 1e6;
    latencyLog.operation(latencyMs, outcome);
    if (!timed && outcome === 'ok') return;
    const counted = timed ? outcome : `warm-up: ${outcome}`;
    this.outcomes[counted] = (this.outcomes[counted] ?? 0) + 1;
    if (outcome === 'ok') {
      this.succeeded++;
      this.latencies.push(latencyMs);
    }
  }

  result(seconds: number): LoadResult {
    const sorted = Float64Array.from(this.latencies).sort();
    const at = (q: number) =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    const mean = sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length;
    const operations = Object.values(this.outcomes).reduce((a, b) => a + b, 0);
    return {
      operations,
      succeeded: this.succeeded,
      outcomes: this.outcomes,
      seconds,
      rate: this.succeeded / seconds,
      latencyMs: { mean, p50: at(0.5), p99: at(0.99), max: at(1) },
    };
  }
}

/** `concurrency` clients, each starting its next operation when the last ends, until time or operations run out. */
export async function closedLoop(options: {
  concurrency: number;
  seconds: number;
  maxOperations: number;
  op: Operation;
}): Promise<LoadResult> {
  const recorder = new Recorder();
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(options.seconds * 1e9));
  let next = 0;
  const client = async () => {
    while (next < options.maxOperations && process.hrtime.bigint() < deadline) {
      const index = next++;
      await recorder.time(options.op, index, process.hrtime.bigint());
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return recorder.result(Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * Operations started at a fixed `rate` per second, whether or not earlier
 * ones have finished. The first `warmUpSeconds` of them run at the same
 * rate but are not timed: the server reaches its steady state (heap sized,
 * code compiled, connections open) before the timed operations start,
 * with no gap in between. A failed warm-up operation still counts as a
 * failure (`warm-up: <outcome>`).
 */
export async function openLoop(options: {
  rate: number;
  seconds: number;
  maxOperations: number;
  op: Operation;
  warmUpSeconds?: number;
}): Promise<LoadResult & { warmUpOperations: number }> {
  const recorder = new Recorder();
  const warmUpOperations = Math.floor(options.rate * (options.warmUpSeconds ?? 0));
  const total = Math.min(options.maxOperations, warmUpOperations + Math.floor(options.rate * options.seconds));
  const intervalNs = 1e9 / options.rate;
  const started = process.hrtime.bigint();
  const inFlight: Promise<void>[] = [];
  let launched = 0;
  while (launched < total) {
    const elapsed = Number(process.hrtime.bigint() - started);
    const due = Math.min(total, Math.floor(elapsed / intervalNs) + 1);
    for (; launched < due; launched++) {
      // latency from when the operation was due, not from when it got to run
      const scheduled = started + BigInt(Math.round(launched * intervalNs));
      if (launched === warmUpOperations && warmUpOperations > 0) latencyLog.step('warm-up ends');
      inFlight.push(recorder.time(options.op, launched, scheduled, launched >= warmUpOperations));
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  const timedFrom = started + BigInt(Math.round(warmUpOperations * intervalNs));
  return {
    ...recorder.result(Number(process.hrtime.bigint() - timedFrom) / 1e9),
    warmUpOperations: Math.min(total, warmUpOperations),
  };
}
