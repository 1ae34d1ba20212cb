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

/**
 * The same for work that awaits and crosses threads (a request to a server
 * running in this process, and the worker threads it hands work to): the
 * CPU time of the whole process over `run`, every thread counted. Only
 * meaningful while nothing else runs in the process, as in a fuzzer that
 * sends one request at a time.
 */
export async function onProcessCpu<T>(run: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const before = process.cpuUsage();
  const value = await run();
  const { user, system } = process.cpuUsage(before);
  return { value, cpuMs: (user + system) / 1000 };
}
