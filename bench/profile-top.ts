import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

// `--profile`: the server ran with --cpu-prof; this reads its main
// thread's profile (the largest file: the document workers write small
// ones beside it) and lists the functions with the most self time
// (samples where they were on top), as shares of the busy samples: idle
// time is left out, so the shares do not depend on how loaded the server was.

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export function topSelfTime(directory: string, limit = 20): { fn: string; percent: number }[] {
  const file = readdirSync(directory)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ f, size: statSync(join(directory, f)).size }))
    .sort((a, b) => a.size - b.size)
    .pop()?.f;
  if (!file) return [];
  const profile = JSON.parse(readFileSync(join(directory, file), 'utf8')) as { nodes: ProfileNode[] };
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    total += hits;
    const where = url ? `${relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([fn, hits]) => ({ fn, percent: (100 * hits) / Math.max(1, total) }));
}
