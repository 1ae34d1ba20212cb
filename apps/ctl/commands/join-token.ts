import type { Command } from '../cli';
import { isJson, printJson, type Context } from '../context';
import { clean } from '../table';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/** `join-token create [--ttl 1h]`: the secret is shown once; the server keeps its hash. */
export async function joinTokenCreate(context: Context, command: Of<'join-token create'>): Promise<void> {
  const created = await context.client.createJoinToken(command.ttlSeconds);
  if (isJson(context)) return printJson(context, created);
  context.io.stdout(
    `token:    ${clean(created.token)}\nid:       ${clean(created.id)}\nexpires:  ${clean(created.expiresAt)}\n`,
  );
}
