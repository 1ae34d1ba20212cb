import { createWriteStream, type WriteStream } from 'node:fs';
import { monotonicMicros } from './profile-top';

// BENCH_LATENCY_LOG=<file>: every operation the load generator times, one
// line each (`<scheduled start, Unix ms> <latency ms> <outcome>`), and the
// bench's steps as `# <Unix ms> <step>` lines between them. A p99 says how
// bad the tail is; this says when it happened, to line up with the server's
// CPU profiles (--profile), GC trace (BENCH_SERVER_NODE_ARGS=--trace-gc)
// or PostgreSQL's log.

/** read once: the load generator's CPU per operation is measured, and this is on its path */
const path = process.env.BENCH_LATENCY_LOG;
let stream: WriteStream | undefined;

function open(): WriteStream | undefined {
  if (!path) return undefined;
  if (!stream) {
    stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
    // the monotonic clock CPU profiles (--profile) and GC traces count in
    stream.write(`# ${Date.now()} monotonic clock ${monotonicMicros()} µs\n`);
  }
  return stream;
}

export const latencyLog = {
  step(text: string): void {
    open()?.write(`# ${Date.now()} ${text}\n`);
  },
  operation(latencyMs: number, outcome: string): void {
    open()?.write(`${(Date.now() - latencyMs).toFixed(1)} ${latencyMs.toFixed(1)} ${outcome}\n`);
  },
  close(): Promise<void> {
    const closing = stream;
    stream = undefined;
    return new Promise((resolve) => (closing ? closing.end(resolve) : resolve()));
  },
};
