/**
 * What `run` returns and the CPU time the calling thread spent in it, in
 * milliseconds (an error from `run` propagates). Robustness bounds on
 * synchronous parsers compare this, not wall time: on a loaded 2-core machine
 * other processes stretch wall time several-fold, while a blow-up with the
 * shape of the input shows in the parser's own CPU time all the same.
 */
export function onThreadCpu<T>(run: () => T): { value: T; cpuMs: number } {
  const before = process.threadCpuUsage();
  const value = run();
  const { user, system } = process.threadCpuUsage(before);
  return { value, cpuMs: (user + system) / 1000 };
}
