// The agent's own main() as a process of its own, as the installed CLI runs
// it, with one change: no wait of the daemon lasts longer than
// AGENT_HARNESS_MAX_WAIT_MS (default 300 ms), so a test sees it renew every
// few hundred milliseconds instead of every half SVID lifetime. Everything
// else is real: HTTP, files, signals, SIGKILL.
import { SYSTEM_CLOCK, type DaemonClock } from '@apps/agent/daemon';
import { main } from '@apps/agent/main';

const maxWaitMs = Number(process.env.AGENT_HARNESS_MAX_WAIT_MS ?? '300');
const clock: DaemonClock = {
  now: SYSTEM_CLOCK.now,
  sleep: (ms, signal) => SYSTEM_CLOCK.sleep(Math.min(ms, maxWaitMs), signal),
};
const stop = new AbortController();
for (const name of ['SIGTERM', 'SIGINT'] as const) process.once(name, () => stop.abort(name));
main(
  process.argv.slice(2),
  process.env,
  { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) },
  { signal: stop.signal, daemon: { clock } },
).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`agent harness: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
