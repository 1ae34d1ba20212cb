import type { GlobalOptions } from './cli';
import type { AdminClient } from './client';
import type { ReadText } from './documents';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Seams for tests: time, files and the `audit list --follow` loop. */
export interface Hooks {
  now: () => Date;
  readText: ReadText;
  /** waits `ms`, or less when `signal` aborts */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** `--follow` stops when this aborts (SIGINT in the real CLI) */
  signal?: AbortSignal;
  /** `--follow` stops after this many polls; unlimited when absent */
  maxPolls?: number;
  pollIntervalMs: number;
}

/** What a command runs with. */
export interface Context {
  client: AdminClient;
  global: GlobalOptions;
  io: Io;
  hooks: Hooks;
}

export function printJson(context: Context, value: unknown): void {
  context.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

export function isJson(context: Context): boolean {
  return context.global.output === 'json';
}
