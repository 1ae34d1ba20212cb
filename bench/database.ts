import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { openDatabase, type Database, type DatabaseTarget } from '@libs/persistence/database';
import { recordLogin, type LoginRecord } from '@libs/persistence/login-write';
import { migrate } from '@libs/persistence/migrator';

// The bench's database: a scratch database on the PostgreSQL server named by
// DATABASE_URL (made and dropped here), else embedded PGlite in a directory
// the server then opens. Seeding and the login-write ceiling run before the
// server starts: an embedded database has one owner at a time.

export interface BenchDatabase {
  /** for the server's DATABASE_URL; undefined: embedded in `<dataDir>/pglite` */
  url?: string;
  target: DatabaseTarget;
  drop(): Promise<void>;
}

export async function scratchDatabase(serverUrl: string | undefined, dataDir: string): Promise<BenchDatabase> {
  if (!serverUrl) return { target: { kind: 'pglite', dataDir: `${dataDir}/pglite` }, drop: async () => undefined };
  const name = `attestd_bench_${randomBytes(6).toString('hex')}`;
  await asAdmin(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    target: { kind: 'postgres', url: url.toString() },
    drop: () => asAdmin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function asAdmin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function withDatabase<T>(target: DatabaseTarget, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(target);
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** `count` agents with a TOFU key each, in two set-based statements (seconds, not minutes). */
export async function seedAgents(db: Database, count: number): Promise<void> {
  await db.runScript(`
    INSERT INTO agents (id, spiffe_id, policy, attestor_types, attributes, selectors, svid_serial, svid_expires_at)
    SELECT gen_random_uuid(), 'spiffe://example.org/bench/seed-' || g, 'bench_seed', ARRAY['join_token'],
           jsonb_build_object('join_token.token_id', jsonb_build_array(g::text)), ARRAY['token_id:' || g],
           md5(g::text), now() + interval '1 hour'
    FROM generate_series(1, ${Math.floor(count)}) g;
    INSERT INTO tofu_keys (key, agent_id) SELECT 'bench/' || spiffe_id, id FROM agents WHERE policy = 'bench_seed';
    ANALYZE;`);
}

/** A login write shaped like an aws_iid login's (same attributes, selectors, one TOFU key). */
export function loginRecordLike(index: number): LoginRecord {
  const instanceId = `i-0ce${index.toString(16).padStart(6, '0')}${randomBytes(4).toString('hex')}`;
  const agentId = randomUUID();
  return {
    loginNonce: randomBytes(16).toString('base64url'),
    loginExpiresAt: new Date(Date.now() + 300_000),
    agentId,
    spiffeId: `spiffe://example.org/agent/aws_iid/111111111111/us-east-1/${instanceId}`,
    policy: 'ec2_fleet',
    attestorTypes: ['aws_iid'],
    attributes: {
      'aws_iid.account.id': ['111111111111'],
      'aws_iid.ec2.instance.id': [instanceId],
      'aws_iid.ec2.instance.region': ['us-east-1'],
      'aws_iid.ec2.instance.availability_zone': ['us-east-1a'],
      'aws_iid.ec2.instance.image_id': ['ami-0abcdef1234567890'],
      'aws_iid.ec2.instance.type': ['t3.medium'],
      'aws_iid.ec2.instance.private_ip': ['10.0.0.10'],
      'aws_iid.ec2.security_group.id': ['sg-0123456789abcdef0'],
      'aws_iid.ec2.security_group.name': ['default'],
      'aws_iid.iam.role': [],
      'aws_iid.ec2.instance.tag.env': ['prod'],
    },
    selectors: [
      'az:us-east-1a',
      'image:id:ami-0abcdef1234567890',
      `instance:id:${instanceId}`,
      'region:us-east-1',
      'tag:env:prod',
      'sg:id:sg-0123456789abcdef0',
      'sg:name:default',
    ],
    tofuKeys: [`aws_iid/111111111111/us-east-1/${instanceId}`],
    tofu: true,
    svidSerial: randomBytes(16).toString('hex'),
    svidExpiresAt: new Date(Date.now() + 3_600_000),
    sourceIp: '127.0.0.1',
    requestId: randomUUID(),
  };
}

/** Login writes per second against this database, `concurrency` in flight (the server's pool has 10). */
export async function loginWriteRate(db: Database, options: { count: number; concurrency: number }): Promise<number> {
  const records = Array.from({ length: options.count }, (_, i) => loginRecordLike(i));
  for (const record of records.splice(0, Math.min(200, Math.floor(records.length / 10)))) await recordLogin(db, record); // warm-up
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < records.length) {
      const written = await recordLogin(db, records[next++]!);
      if (written.outcome !== 'recorded') throw new Error(`bench: login write ${written.outcome}`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return records.length / (Number(process.hrtime.bigint() - started) / 1e9);
}
