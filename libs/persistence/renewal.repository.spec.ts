import { randomBytes, randomUUID } from 'node:crypto';
import { until } from '@libs/testing/until';
import { createSharedDatabase } from '@test/support/server-process';
import { createTestDatabase, type TestDatabase } from '@test/support/database';
import { AgentsRepository } from './agents.repository';
import { openDatabase, type Database } from './database';
import { recordLogin } from './login-write';
import { migrate } from './migrator';
import {
  presentSvids,
  RenewalRepository,
  type AgentWriteResult,
  type AgentWriteVerdict,
  type Presentation,
} from './renewal.repository';

const serial = () => randomBytes(16).toString('hex');
const jti = () => randomBytes(16).toString('base64url');

/** Agents on `db()`, and the two writes of the repository as an agent makes them. */
function fixture(db: () => Database) {
  const repository = () => new RenewalRepository(db());
  /** A logged-in agent whose current SVID has `first` as serial. */
  async function agent(first = serial()): Promise<{ id: string; spiffeId: string; first: string }> {
    const id = randomUUID();
    const spiffeId = `spiffe://example.org/agent/${id}`;
    const written = await recordLogin(db(), {
      loginNonce: randomUUID(),
      loginExpiresAt: new Date(Date.now() + 300_000),
      agentId: id,
      spiffeId,
      policy: 'p',
      attestorTypes: ['test'],
      attributes: {},
      selectors: [],
      tofuKeys: [],
      tofu: true,
      svidSerial: first,
      svidExpiresAt: new Date(Date.now() + 3_600_000),
    });
    expect(written).toEqual({ outcome: 'recorded' });
    return { id, spiffeId, first };
  }

  const renew = async (
    a: { spiffeId: string },
    from: string,
    to = serial(),
    expiresAt = new Date(Date.now() + 3_600_000),
  ): Promise<AgentWriteResult & { to: string }> => {
    const written = await repository().recordRenewal({
      spiffeId: a.spiffeId,
      serial: from,
      jti: jti(),
      jtiExpiresAt: new Date(Date.now() + 120_000),
      newSerial: to,
      newExpiresAt: expiresAt,
    });
    return { ...written, to };
  };
  const jwt = async (a: { spiffeId: string }, from: string): Promise<AgentWriteVerdict> =>
    (
      await repository().recordJwtSvid({
        spiffeId: a.spiffeId,
        serial: from,
        jti: jti(),
        jtiExpiresAt: new Date(Date.now() + 120_000),
        audience: ['vault'],
      })
    ).verdict;
  const serials = async (id: string) => {
    const row = await db().prisma.agent.findUniqueOrThrow({
      where: { id },
      select: { svidSerial: true, previousSvidSerial: true },
    });
    return { previous: row.previousSvidSerial, current: row.svidSerial };
  };
  const expiry = async (id: string) =>
    (await db().prisma.agent.findUniqueOrThrow({ where: { id }, select: { svidExpiresAt: true } })).svidExpiresAt;

  return { agent, renew, jwt, serials, expiry, repository };
}

describe('RenewalRepository: which SVIDs an agent may present', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t?.drop());

  const { agent, renew, jwt, serials, expiry, repository } = fixture(() => t.db);

  it('starts with no previous serial after a login; renewing from the current one keeps it as the previous', async () => {
    const a = await agent();
    expect(await serials(a.id)).toEqual({ previous: null, current: a.first });
    const renewed = await renew(a, a.first);
    expect(renewed).toMatchObject({ verdict: 'ok', agentId: a.id, policy: 'p' });
    expect(await serials(a.id)).toEqual({ previous: a.first, current: renewed.to });
  });

  it('lets the previous SVID renew again while the current one is unused, abandoning the unused one', async () => {
    const a = await agent();
    const lost = await renew(a, a.first); // the answer never reached the agent
    const retried = await renew(a, a.first);
    expect(retried.verdict).toBe('ok');
    expect(await serials(a.id)).toEqual({ previous: a.first, current: retried.to });
    // the abandoned SVID is refused: it is neither current nor previous
    expect((await renew(a, lost.to)).verdict).toBe('not_current');
    expect(await jwt(a, lost.to)).toBe('not_current');
    // no agent holds it: the write names none, nor a policy
    expect(await renew(a, lost.to)).toMatchObject({ verdict: 'not_current', agentId: null, policy: null });
  });

  it('lets the previous SVID mint JWT-SVIDs while the current one is unused, without moving the row', async () => {
    const a = await agent();
    const renewed = await renew(a, a.first);
    expect(await jwt(a, a.first)).toBe('ok');
    expect(await serials(a.id)).toEqual({ previous: a.first, current: renewed.to });
  });

  it('refuses the previous SVID once the current one has minted a JWT-SVID', async () => {
    const a = await agent();
    const renewed = await renew(a, a.first);
    expect(await jwt(a, renewed.to)).toBe('ok');
    expect(await serials(a.id)).toEqual({ previous: null, current: renewed.to });
    expect((await renew(a, a.first)).verdict).toBe('not_current');
    expect(await jwt(a, a.first)).toBe('not_current');
  });

  it('refuses the previous SVID once the current one has renewed', async () => {
    const a = await agent();
    const second = await renew(a, a.first);
    const third = await renew(a, second.to);
    expect(third.verdict).toBe('ok');
    expect(await serials(a.id)).toEqual({ previous: second.to, current: third.to });
    expect((await renew(a, a.first)).verdict).toBe('not_current');
    expect(await jwt(a, a.first)).toBe('not_current');
  });

  it('answers agent_evicted for the previous SVID of an evicted agent, and audits each refusal', async () => {
    const a = await agent();
    await renew(a, a.first);
    await new AgentsRepository(t.db.prisma).changeStatus(a.id, 'evict', { actor: 'test' });
    // the agent and its policy are named on a refusal too
    expect(await renew(a, a.first)).toMatchObject({ verdict: 'agent_evicted', agentId: a.id, policy: 'p' });
    const audited = await t.db.prisma.auditEvent.findMany({
      where: { agentId: a.id, event: 'renew' },
      orderBy: { id: 'asc' },
    });
    expect(audited.map((e) => `${e.outcome} ${e.code ?? ''}`.trim())).toEqual(['success', 'failure agent_evicted']);
  });

  it("corrects a renewal's recorded expiry only while its SVID is still the agent's current one", async () => {
    const a = await agent();
    const guessed = new Date(Date.parse('2031-01-01T00:00:00Z'));
    const signed = new Date(Date.parse('2031-01-01T00:10:00Z'));
    const renewed = await renew(a, a.first, serial(), guessed);
    expect(await expiry(a.id)).toEqual(guessed);
    await repository().correctSvidExpiry(a.id, renewed.to, signed);
    expect(await expiry(a.id)).toEqual(signed);

    // a correction that arrives after the next renewal leaves that renewal's expiry
    const next = await renew(a, renewed.to, serial(), guessed);
    expect(next.verdict).toBe('ok');
    await repository().correctSvidExpiry(a.id, renewed.to, new Date(Date.parse('2031-06-01T00:00:00Z')));
    expect(await expiry(a.id)).toEqual(guessed);
  });

  it('leaves one usable successor of concurrent renewals from one SVID, however they interleave', async () => {
    // Requests that overlap in the database: one wins, the others are refused.
    // Requests that do not (PGlite runs one statement at a time): each is a
    // retry from the previous SVID and abandons the one before it. Either
    // way only the row's current serial renews afterwards.
    const a = await agent();
    const results = await Promise.all(Array.from({ length: 8 }, () => renew(a, a.first)));
    const { previous, current } = await serials(a.id);
    expect(previous).toBe(a.first);
    const succeeded = results.filter((r) => r.verdict === 'ok');
    expect(succeeded.map((r) => r.to)).toContain(current);
    expect(results.filter((r) => r.verdict !== 'ok').every((r) => r.verdict === 'not_current')).toBe(true);
    for (const loser of succeeded.filter((r) => r.to !== current))
      expect((await renew(a, loser.to)).verdict).toBe('not_current');
    expect((await renew(a, current!)).verdict).toBe('ok');
  });

  it('lets a renewal and a JWT-SVID from the current SVID race without losing the renewal', async () => {
    const a = await agent();
    const [renewed, minted] = await Promise.all([renew(a, a.first), jwt(a, a.first)]);
    // either order is fine: the renewal always lands, the JWT-SVID wins or loses the race
    expect(renewed.verdict).toBe('ok');
    expect(['ok', 'not_current']).toContain(minted);
    expect((await serials(a.id)).current).toBe(renewed.to);
  });
});

describe('Renewal writes, several in one statement (group commit)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t?.drop());

  const { agent, renew, jwt, serials } = fixture(() => t.db);
  const presentation = (a: { spiffeId: string }, from: string, event: 'renew' | 'jwt_svid'): Presentation => ({
    spiffeId: a.spiffeId,
    serial: from,
    jti: jti(),
    jtiExpiresAt: new Date(Date.now() + 120_000),
    event,
    okReason: event === 'renew' ? 'renewed' : 'minted',
    ...(event === 'renew' && { next: { serial: serial(), expiresAt: new Date(Date.now() + 3_600_000) } }),
    requestId: randomUUID(),
  });

  it('decides each presentation on its own and audits each, as one at a time would', async () => {
    const [renewing, minting, unknown, evicted, replaying] = await Promise.all([
      agent(),
      agent(),
      agent(),
      agent(),
      agent(),
    ]);
    await new AgentsRepository(t.db.prisma).changeStatus(evicted!.id, 'evict', { actor: 'test' });
    const used = presentation(replaying!, replaying!.first, 'jwt_svid');
    expect((await presentSvids(t.db, [used]))[0]!.verdict).toBe('ok');
    const batch = [
      presentation(renewing!, renewing!.first, 'renew'),
      presentation(minting!, minting!.first, 'jwt_svid'),
      presentation(unknown!, serial(), 'renew'),
      presentation(evicted!, evicted!.first, 'renew'),
      { ...presentation(replaying!, replaying!.first, 'renew'), jti: used.jti },
    ];
    const results = await presentSvids(t.db, batch);
    expect(results.map((r) => r.verdict)).toEqual(['ok', 'ok', 'not_current', 'agent_evicted', 'replayed']);
    expect(results[0]).toMatchObject({ agentId: renewing!.id, policy: 'p' });
    expect(results[2]).toMatchObject({ agentId: null, policy: null });
    expect(results[3]).toMatchObject({ agentId: evicted!.id, policy: 'p' });
    expect(await serials(renewing!.id)).toEqual({ previous: renewing!.first, current: batch[0]!.next!.serial });
    expect(await serials(minting!.id)).toEqual({ previous: null, current: minting!.first });
    expect(await serials(replaying!.id)).toEqual({ previous: null, current: replaying!.first });
    const audited = await t.db.prisma.auditEvent.findMany({
      where: { requestId: { in: batch.map((p) => p.requestId!) } },
    });
    const byRequest = new Map(audited.map((e) => [e.requestId, `${e.event} ${e.outcome} ${e.code ?? ''}`.trim()]));
    expect(batch.map((p) => byRequest.get(p.requestId!))).toEqual([
      'renew success',
      'jwt_svid success',
      'renew failure invalid_proof_of_possession',
      'renew failure agent_evicted',
      'renew failure invalid_proof_of_possession',
    ]);
  });

  it('writes concurrent renewals of many agents in fewer statements than renewals, every one of them', async () => {
    const agents = await Promise.all(Array.from({ length: 24 }, () => agent()));
    let statements = 0;
    const counting = {
      runHot: <Row>(statement: Parameters<Database['runHot']>[0]) => {
        statements++;
        return t.db.runHot<Row>(statement);
      },
    };
    const repository = new RenewalRepository(counting);
    const verdicts = await Promise.all(
      agents.map(async (a) => {
        const to = serial();
        const { verdict } = await repository.recordRenewal({
          spiffeId: a.spiffeId,
          serial: a.first,
          jti: jti(),
          jtiExpiresAt: new Date(Date.now() + 120_000),
          newSerial: to,
          newExpiresAt: new Date(Date.now() + 3_600_000),
        });
        return { verdict, current: (await serials(a.id)).current === to };
      }),
    );
    expect(verdicts.every((v) => v.verdict === 'ok' && v.current)).toBe(true);
    expect(statements).toBeLessThan(agents.length);
    // and each agent moves on from its new SVID
    expect((await renew(agents[0]!, (await serials(agents[0]!.id)).current!)).verdict).toBe('ok');
    expect(await jwt(agents[1]!, (await serials(agents[1]!.id)).current!)).toBe('ok');
  });
});

/**
 * The race itself needs requests that overlap in the database, which only
 * PostgreSQL runs (this block uses it in the PGlite run too, as the replica
 * tests do). A transaction holding the agent's row lock makes the overlap
 * certain: every renewal has read the row and waits to update it when the
 * lock is released.
 */
describe('RenewalRepository on PostgreSQL: concurrent renewals from one SVID', () => {
  let shared: { url: string; drop(): Promise<void> };
  let db: Database;
  beforeAll(async () => {
    shared = await createSharedDatabase();
    db = await openDatabase({ kind: 'postgres', url: shared.url });
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await shared?.drop();
  });

  const { agent, renew, serials } = fixture(() => db);

  /** Runs `requests` while the agent's row is locked, releasing it once all of them wait on the lock. */
  async function whileRowLocked<T>(agentId: string, requests: () => Promise<T>[]): Promise<T[]> {
    let release = () => undefined as void;
    const released = new Promise<void>((done) => (release = done));
    let locked = () => undefined as void;
    const isLocked = new Promise<void>((done) => (locked = done));
    const holder = db.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1 FROM agents WHERE id = ${agentId}::uuid FOR UPDATE`;
        locked();
        await released;
      },
      { timeout: 60_000 },
    );
    await isLocked;
    const running = requests();
    const waiting = () => db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    await until(async () => Number((await waiting())[0]!.n) === running.length);
    release();
    await holder;
    return Promise.all(running);
  }

  it.each([
    ['the current SVID', false],
    ['the previous SVID, its successor unused', true],
  ])(
    'lets exactly one of four renewals from %s win; the others are refused as not current',
    async (_name, fromPrevious) => {
      const a = await agent();
      if (fromPrevious) expect((await renew(a, a.first)).verdict).toBe('ok');
      // the main pool has 6 connections: one holds the lock, four renew, one is left for the check
      const results = await whileRowLocked(a.id, () => Array.from({ length: 4 }, () => renew(a, a.first)));
      const winners = results.filter((r) => r.verdict === 'ok');
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.verdict !== 'ok').map((r) => r.verdict)).toEqual([
        'not_current',
        'not_current',
        'not_current',
      ]);
      expect(await serials(a.id)).toEqual({ previous: a.first, current: winners[0]!.to });
    },
  );
});
