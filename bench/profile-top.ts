import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

// `--profile`: the server ran with --cpu-prof; this reads its main
// thread's profile (the largest file: the document workers write small
// ones beside it) and, for each timed phase, lists the functions with the
// most self time (samples where they were on top) and the project's own
// functions with the most total time (samples where they were anywhere on
// the stack), as shares of the phase's busy samples: idle time is left
// out, so the shares do not depend on how loaded the server was.
//
// Phases are windows of the monotonic clock, which V8 stamps its samples
// with and `process.hrtime` reads in the bench's own process.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** monotonic microseconds, as in a V8 CPU profile */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface PhaseWindow {
  name: string;
  from: number;
  to: number;
}

export interface PhaseProfile {
  phase: string;
  samples: number;
  self: { fn: string; percent: number }[];
  /** functions of apps/ and libs/ only */
  total: { fn: string; percent: number }[];
  /**
   * The longest stretch without an idle sample (the event loop held, or the
   * thread descheduled while busy), and the functions most often on top in it.
   */
  longestBusyMs: number;
  longestBusyTop: string[];
}

function largestProfile(directory: string): CpuProfile | undefined {
  const file = readdirSync(directory)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ f, size: statSync(join(directory, f)).size }))
    .sort((a, b) => a.size - b.size)
    .pop()?.f;
  return file ? (JSON.parse(readFileSync(join(directory, file), 'utf8')) as CpuProfile) : undefined;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
}

const ours = (fn: string) => /(^| )dist\/bench\/(apps|libs)\//.test(fn);

function shares(counts: Map<string, number>, total: number, limit: number) {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([fn, hits]) => ({ fn, percent: (100 * hits) / Math.max(1, total) }));
}

export function profileByPhase(directory: string, windows: PhaseWindow[], limit = 15): PhaseProfile[] {
  const profile = largestProfile(directory);
  if (!profile) return [];
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return windows.map(({ name, from, to }) => {
    const self = new Map<string, number>();
    const total = new Map<string, number>();
    let busy = 0;
    let at = profile.startTime;
    let stretch = { from, samples: [] as string[] };
    let longest = { ms: 0, samples: [] as string[] };
    profile.samples.forEach((id, i) => {
      at += profile.timeDeltas[i] ?? 0;
      const node = byId.get(id);
      if (at < from || at > to || !node) return;
      if (node.callFrame.functionName === '(idle)') {
        stretch = { from: at, samples: [] };
        return;
      }
      stretch.samples.push(label(node));
      if ((at - stretch.from) / 1000 > longest.ms)
        longest = { ms: (at - stretch.from) / 1000, samples: stretch.samples };
      busy += 1;
      self.set(label(node), (self.get(label(node)) ?? 0) + 1);
      const seen = new Set<string>();
      for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
        const fn = label(n);
        if (ours(fn) && !seen.has(fn)) {
          seen.add(fn);
          total.set(fn, (total.get(fn) ?? 0) + 1);
        }
      }
    });
    const inStretch = new Map<string, number>();
    for (const fn of longest.samples) inStretch.set(fn, (inStretch.get(fn) ?? 0) + 1);
    return {
      phase: name,
      samples: busy,
      self: shares(self, busy, limit),
      total: shares(total, busy, limit),
      longestBusyMs: longest.ms,
      longestBusyTop: shares(inStretch, longest.samples.length, 5).map((f) => `${f.percent.toFixed(0)}% ${f.fn}`),
    };
  });
}
