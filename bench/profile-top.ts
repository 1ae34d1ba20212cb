import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// `--profile`: the server ran with --cpu-prof; this reads its profile and
// lists the functions with the most self time (samples where they were on top).

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export function topSelfTime(directory: string, limit = 20): { fn: string; percent: number }[] {
  const file = readdirSync(directory).filter((f) => f.endsWith('.cpuprofile')).sort().pop();
  if (!file) return [];
  const profile = JSON.parse(readFileSync(join(directory, file), 'utf8')) as { nodes: ProfileNode[] };
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([fn, hits]) => ({ fn, percent: (100 * hits) / Math.max(1, total) }));
}
