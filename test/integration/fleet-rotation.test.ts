import { X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { runJwt } from '@apps/agent/jwt-command';
import { opensslVerify } from '@libs/pki/testing';
import { until } from '@libs/testing/until';
import { newJoinToken } from '../support/agent';
import { buildAgent, startAgentProcess, type AgentProcess } from '../support/agent-process';
import { startAgent } from '../support/in-process-agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';

// A fleet through CA and JWT-key rotations on a schedule of seconds: every
// agent keeps renewing, every svid.pem verifies against the bundle.pem
// beside it whenever either changes, and every JWT-SVID verifies against
// /keys, as fetched just before it was minted and at any time until it expires.

/** A new CA signs every 20 s, published 10 s before; it lives 100 s, so SVIDs it signs last still get 70 s. */
const CA_ROTATION_SECONDS = 20;
const SCHEDULE = {
  ATTESTD_CA_TTL: '100s',
  ATTESTD_CA_ROTATION: `${CA_ROTATION_SECONDS}s`,
  ATTESTD_JWT_KEY_ROTATION: '15s',
  ATTESTD_JWT_SVID_TTL: '10s',
  ATTESTD_JWT_ALGORITHM: 'ES256',
};
const IN_PROCESS = 17;
const PROCESSES = 3;

interface Member {
  name: string;
  out: string;
  /** fingerprints of the CAs that signed the SVIDs seen in `out` */
  signers: Set<string>;
  stop(): Promise<number | string>;
}

describe('twenty agents through two CA and JWT-key rotations', () => {
  let server: TestServer;
  let build: { dir: string; remove(): void } | undefined;
  const dirs: string[] = [];
  const watchers: FSWatcher[] = [];
  const processes: AgentProcess[] = [];
  const stops: AbortController[] = [];

  beforeAll(async () => {
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() }, env: SCHEDULE });
    build = await buildAgent();
  }, 120_000);
  afterAll(async () => {
    for (const watcher of watchers) watcher.close();
    for (const stop of stops) stop.abort();
    await Promise.all(processes.map((agent) => agent.kill()));
    await server?.stop();
    build?.remove();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** The CA in `bundlePem` that signed `leaf`, both valid now; undefined when none. */
  function signerOf(leaf: X509Certificate, bundlePem: string): X509Certificate | undefined {
    const now = Date.now();
    const valid = (c: X509Certificate) => c.validFromDate.getTime() <= now && now < c.validToDate.getTime();
    const cas = (bundlePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
      (pem) => new X509Certificate(pem),
    );
    return valid(leaf) ? cas.find((ca) => valid(ca) && leaf.verify(ca.publicKey)) : undefined;
  }

  it('locks no agent out, and every SVID on disk and every JWT-SVID verifies throughout', async () => {
    const problems: string[] = [];
    const members: Member[] = [];

    // A relying party's view, fetched every second: /keys and /v1/bundle as
    // they were, to check that what signs now was published before (a
    // relying party caching them for 5 s, under half a rotation period,
    // never meets a key it does not know).
    const issuer = (
      (await (await server.call('GET', '/.well-known/openid-configuration')).json()) as { issuer: string }
    ).issuer;
    const published: { at: number; jwks: JSONWebKeySet; bundle: string }[] = [];
    const publish = async () => {
      const [jwks, bundle] = await Promise.all([
        server.call('GET', '/keys').then((r) => r.json() as Promise<JSONWebKeySet>),
        server.call('GET', '/v1/bundle').then((r) => r.text()),
      ]);
      published.push({ at: Date.now(), jwks, bundle });
    };
    /** the newest view at least 5 s old, if the run is that old */
    const cachedView = () => published.filter((view) => view.at <= Date.now() - 5_000).at(-1);
    await publish();

    /**
     * Checks the files in `member.out` as a workload reloading them would:
     * svid.pem first, then bundle.pem (the agent replaces the bundle first,
     * so this order never pairs a new SVID with an older bundle).
     */
    const check = async (member: Member) => {
      const svid = await readFile(join(member.out, 'svid.pem'), 'utf8').catch(() => undefined);
      const bundle = await readFile(join(member.out, 'bundle.pem'), 'utf8').catch(() => undefined);
      if (svid === undefined || bundle === undefined) return; // before the first login
      const leaf = new X509Certificate(svid);
      const signer = signerOf(leaf, bundle);
      if (!signer)
        problems.push(`${member.name}: svid.pem does not verify against bundle.pem at ${new Date().toISOString()}`);
      else member.signers.add(signer.fingerprint256);
      // a peer that fetched the bundle 5 s ago trusts it too
      const cached = cachedView();
      if (cached && !signerOf(leaf, cached.bundle))
        problems.push(`${member.name}: svid.pem does not verify against /v1/bundle of 5 s before`);
    };
    const join_ = async (name: string, start: (argv: string[]) => Omit<Member, 'name' | 'out' | 'signers'>) => {
      const out = await mkdtemp(join(tmpdir(), 'fleet-'));
      dirs.push(out);
      const { token } = await newJoinToken(server);
      const member: Member = {
        name,
        out,
        signers: new Set(),
        ...start([
          'login',
          '--server',
          server.url,
          '--attestor',
          'join_token',
          '--token',
          token,
          '--out',
          out,
          '--daemon',
        ]),
      };
      let pending = false;
      watchers.push(
        watch(out, () => {
          if (pending) return;
          pending = true;
          setImmediate(() => {
            pending = false;
            void check(member);
          });
        }),
      );
      members.push(member);
    };

    const inProcess: ReturnType<typeof startAgent>[] = [];
    for (let i = 0; i < IN_PROCESS; i++) {
      await join_(`in-process-${i}`, (argv) => {
        const stop = new AbortController();
        stops.push(stop);
        const agent = startAgent(argv, { signal: stop.signal });
        inProcess.push(agent);
        return {
          stop: async () => {
            stop.abort();
            return agent.status;
          },
        };
      });
    }
    for (let i = 0; i < PROCESSES; i++) {
      // the harness's waits are capped far above any half-life here: the real schedule
      await join_(`process-${i}`, (argv) => {
        const agent = startAgentProcess(build!, argv, { AGENT_HARNESS_MAX_WAIT_MS: '3600000' });
        processes.push(agent);
        return { stop: () => agent.stop() };
      });
    }

    // JWT-SVIDs from agents in turn, once a second, each checked against
    // /keys as a relying party cached it and as it is now; every token
    // minted so far is checked again against /keys until it expires.
    const minted: { token: string; exp: number }[] = [];
    const kids = new Set<string>();
    let probing = true;
    const probe = (async () => {
      for (let i = 0; probing; i++) {
        await publish();
        const member = members[i % members.length]!;
        const now = createLocalJWKSet(published.at(-1)!.jwks);
        const { token } = await runJwt({ server: server.url, out: member.out, audiences: ['fleet'] }).catch(
          (error: Error) => {
            problems.push(`${member.name}: jwt: ${error.message}`);
            return { token: undefined };
          },
        );
        if (token) {
          kids.add(decodeProtectedHeader(token).kid!);
          const cached = cachedView();
          if (cached) {
            await jwtVerify(token, createLocalJWKSet(cached.jwks), { issuer, audience: 'fleet' }).catch(
              (error: Error) =>
                void problems.push(
                  `${member.name}: a JWT-SVID does not verify against /keys of 5 s before: ${error.message}`,
                ),
            );
          }
          const verified = await jwtVerify(
            token,
            createLocalJWKSet((await (await server.call('GET', '/keys')).json()) as JSONWebKeySet),
            { issuer, audience: 'fleet' },
          ).catch(
            (error: Error) =>
              void problems.push(`${member.name}: a JWT-SVID does not verify against /keys: ${error.message}`),
          );
          if (verified) minted.push({ token, exp: verified.payload.exp! });
        }
        for (const { token: earlier } of minted.filter((m) => m.exp * 1000 > Date.now() + 1000)) {
          await jwtVerify(earlier, now, { issuer, audience: 'fleet' }).catch(
            (error: Error) =>
              void problems.push(`a JWT-SVID stopped verifying against /keys before it expired: ${error.message}`),
          );
        }
        await new Promise((done) => setTimeout(done, 1000));
      }
    })();

    // Two rotations: the third CA signs, and every agent has written an SVID it signed.
    const signingCas: string[] = [];
    const rotatedTwice = async () => {
      const signing = new X509Certificate(await (await server.call('GET', '/v1/bundle')).text()).fingerprint256;
      if (!signingCas.includes(signing)) signingCas.push(signing);
      return signingCas.length >= 3 && members.every((m) => m.signers.has(signingCas[2]!));
    };
    const statuses = [...inProcess.map((a) => a.status), ...processes.map((p) => p.exited)];
    const lockedOut = () =>
      Promise.race([
        ...statuses.map((s) => s.then(() => true)),
        new Promise<boolean>((done) => setImmediate(() => done(false))),
      ]);
    expect(await until(async () => (await rotatedTwice()) || (await lockedOut()), 110_000)).toBe(true);
    probing = false;
    await probe;

    // no agent stopped by itself: each stops now, on its signal, with status 0
    expect(await Promise.all(members.map((m) => m.stop()))).toEqual(members.map(() => 0));
    for (const member of members) await check(member);
    expect(problems).toEqual([]);
    expect(signingCas.length).toBeGreaterThanOrEqual(3);
    expect(kids.size).toBeGreaterThanOrEqual(3);
    for (const member of members) {
      const [svid, bundle] = await Promise.all(
        ['svid.pem', 'bundle.pem'].map((name) => readFile(join(member.out, name), 'utf8')),
      );
      expect({ member: member.name, ...opensslVerify(bundle!, svid!, new Date()) }).toMatchObject({
        member: member.name,
        ok: true,
      });
      expect(member.signers.size).toBeGreaterThanOrEqual(2);
    }
    const agents = (await (await server.admin('GET', '/v1/agents?limit=500')).json()) as {
      items: { status: string }[];
    };
    expect(agents.items.map((a) => a.status)).toEqual(members.map(() => 'active'));
    const refused = (await (await server.admin('GET', '/v1/audit?outcome=failure&limit=500')).json()) as {
      items: unknown[];
    };
    expect(refused.items).toEqual([]);
  }, 180_000);
});
