import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runLogin } from '@apps/agent/login';
import { INSTRUMENTS, prometheusName } from '@apps/server/telemetry/instruments';
import { login, newJoinToken, problemOf } from '../support/agent';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { fakeNodeAttestor } from '../support/fake-node-attestor';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';
import { temporaryDirectories } from '../support/temp-directories';
import { until } from '@libs/testing/until';

const tempDir = temporaryDirectories();

const BLOG = 'i-0b22a22eec53b9321';
const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
    - name: nodes
      requiredAttestors: [{ type: test_node }]
      rules:
        - { not: { attribute: test_node.zone, equals: quarantine } }
    - name: blog_servers
      requiredAttestors: [{ type: aws_iid }]
      rules:
        - { attribute: aws_iid.ec2.instance.tag.env, equals: prod }
`;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition; label order does not matter. */
function parseExposition(text: string): Sample[] {
  return [...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/gm)].map(([, name, labels, value]) => ({
    name: name!,
    labels: Object.fromEntries(
      [...(labels ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, key, v]) => [key!, v!]),
    ),
    value: Number(value),
  }));
}

/** Every series of `name`, keyed by its labels in a fixed order (`code="ok",outcome="success",policy="lab"`). */
function seriesOf(samples: Sample[], name: string): Record<string, number> {
  const key = (labels: Record<string, string>) =>
    Object.entries(labels)
      .filter(([label]) => label !== 'le')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, value]) => `${label}="${value}"`)
      .join(',');
  return Object.fromEntries(samples.filter((s) => s.name === name).map((s) => [key(s.labels), s.value]));
}

describe('metrics on /metrics after logins', () => {
  let aws: AwsTestbed;
  let server: TestServer;
  beforeAll(async () => {
    aws = await startAwsTestbed();
    server = await startTestServer({
      policies: { 'agents.yaml': POLICIES, 'certificates.yaml': aws.certificatesSection },
      additionalAttestors: [fakeNodeAttestor],
    });
  });
  afterAll(async () => {
    await server?.stop();
    await aws?.close();
  });

  const scrape = async () => {
    const response = await server.call('GET', '/metrics');
    expect(response.status).toBe(200);
    return parseExposition(await response.text());
  };
  const logins = prometheusName(INSTRUMENTS.logins);
  const proofs = prometheusName(INSTRUMENTS.attestationProofs);
  const svids = prometheusName(INSTRUMENTS.svidsIssued);
  const tofu = prometheusName(INSTRUMENTS.tofuConflicts);
  const cloud = prometheusName(INSTRUMENTS.cloudRequests);
  const cache = prometheusName(INSTRUMENTS.cacheLookups);
  const node = (name: string, zone?: string) => ({
    test_node: { node: name, secret: 'let-me-in', ...(zone && { zone }) },
  });

  it('counts a join-token login, its proof and its SVID', async () => {
    const { token } = await newJoinToken(server);
    expect((await login(server, { join_token: { token } })).status).toBe(200);

    const samples = await scrape();
    expect(seriesOf(samples, logins)).toEqual({ 'code="ok",outcome="success",policy="lab"': 1 });
    expect(seriesOf(samples, proofs)).toEqual({ 'attestor_type="join_token",outcome="success"': 1 });
    expect(seriesOf(samples, svids)).toEqual({ 'kind="x509",reason="login"': 1 });
    expect(seriesOf(samples, tofu)).toEqual({});
  });

  it('counts a reused join token as a failed login with the problem code and no policy', async () => {
    const { token } = await newJoinToken(server);
    expect((await login(server, { join_token: { token } })).status).toBe(200);
    expect(await problemOf(await login(server, { join_token: { token } }))).toMatchObject({
      status: 401,
      code: 'attestation_failed',
    });

    const samples = await scrape();
    expect(seriesOf(samples, logins)).toEqual({
      'code="ok",outcome="success",policy="lab"': 2,
      'code="attestation_failed",outcome="failure",policy="none"': 1,
    });
    expect(seriesOf(samples, proofs)).toEqual({
      'attestor_type="join_token",outcome="success"': 2,
      'attestor_type="join_token",outcome="failed"': 1,
    });
    expect(seriesOf(samples, svids)).toEqual({ 'kind="x509",reason="login"': 2 });
  });

  it('counts a TOFU conflict under the policy that chose the node, and no SVID for it', async () => {
    expect((await login(server, node('node-1'))).status).toBe(200);
    expect(await problemOf(await login(server, node('node-1')))).toMatchObject({
      status: 409,
      code: 'node_already_attested',
    });

    const samples = await scrape();
    expect(seriesOf(samples, tofu)).toEqual({ 'attestor_type="test_node"': 1 });
    expect(seriesOf(samples, logins)).toMatchObject({
      'code="ok",outcome="success",policy="nodes"': 1,
      'code="node_already_attested",outcome="failure",policy="nodes"': 1,
    });
    expect(seriesOf(samples, proofs)).toMatchObject({ 'attestor_type="test_node",outcome="success"': 2 });
    expect(seriesOf(samples, svids)).toEqual({ 'kind="x509",reason="login"': 3 });
  });

  it('counts a denial by rules under the denying policy, and a refused start with no policy', async () => {
    expect(await problemOf(await login(server, node('node-q', 'quarantine')))).toMatchObject({
      status: 403,
      code: 'policy_denied',
    });
    expect(await problemOf(await login(server, { aws_iam: {} }))).toMatchObject({ code: 'no_policy_for_methods' });

    const samples = await scrape();
    expect(seriesOf(samples, logins)).toEqual({
      'code="ok",outcome="success",policy="lab"': 2,
      'code="attestation_failed",outcome="failure",policy="none"': 1,
      'code="ok",outcome="success",policy="nodes"': 1,
      'code="node_already_attested",outcome="failure",policy="nodes"': 1,
      'code="policy_denied",outcome="failure",policy="nodes"': 1,
      'code="no_policy_for_methods",outcome="failure",policy="none"': 1,
    });
    // the proof verified; the rules refused it
    expect(seriesOf(samples, proofs)).toMatchObject({ 'attestor_type="test_node",outcome="success"': 3 });
  });

  it('times every completion in the login duration histogram by outcome', async () => {
    const samples = await scrape();
    const histogram = prometheusName(INSTRUMENTS.loginDuration);
    // completions: two join tokens and node-1 succeeded; the reused token, the TOFU conflict and the
    // denial failed; a start refused for want of a policy is no completion
    expect(seriesOf(samples, `${histogram}_count`)).toEqual({ 'outcome="success"': 3, 'outcome="failure"': 3 });
    const sums = seriesOf(samples, `${histogram}_sum`);
    expect(sums['outcome="success"']).toBeGreaterThan(0);
    expect(sums['outcome="success"']).toBeLessThan(60); // seconds, not milliseconds
  });

  it('counts the AWS calls and cache look-ups of aws_iid logins as the simulator saw them', async () => {
    aws.sim.log.reset();
    const before = await scrape();
    const imds = await aws.imdsFor(BLOG);
    const out = () => tempDir('metrics-agent-');
    await runLogin({ server: server.url, attestors: ['aws_iid'], out: out(), imdsEndpoint: imds.url });
    await expect(
      runLogin({ server: server.url, attestors: ['aws_iid'], out: out(), imdsEndpoint: imds.url }),
    ).rejects.toThrow(/409 node_already_attested/);

    const samples = await scrape();
    const describeCalls = aws.sim.log.count({ operation: 'DescribeInstances' });
    expect(describeCalls).toBeGreaterThan(0);
    const requests = seriesOf(samples, cloud);
    const requestsBefore = seriesOf(before, cloud);
    const describe = 'operation="DescribeInstances",outcome="success",service="ec2"';
    expect((requests[describe] ?? 0) - (requestsBefore[describe] ?? 0)).toBe(describeCalls);
    // every cloud call the server made is counted, under the service the simulator answered as
    const counted = Object.entries(requests).reduce(
      (sum, [labels, value]) => sum + value - (requestsBefore[labels] ?? 0),
      0,
    );
    expect(counted).toBe(aws.sim.log.count());
    expect(Object.keys(requests).filter((labels) => labels.includes('outcome="failure"'))).toEqual([]);

    // the first login misses the instance cache, the second (refused by TOFU) hits it
    const lookups = Object.entries(seriesOf(samples, cache)).filter(([labels]) =>
      /cache="[a-z_]*ec2_instances"/.test(labels),
    );
    expect(Object.fromEntries(lookups.map(([labels, value]) => [labels.replace(/cache="[^"]*",/, ''), value]))).toEqual(
      { 'result="miss"': 1, 'result="hit"': 1 },
    );

    expect(seriesOf(samples, tofu)).toEqual({ 'attestor_type="test_node"': 1, 'attestor_type="aws_iid"': 1 });
    expect(seriesOf(samples, logins)).toMatchObject({
      'code="ok",outcome="success",policy="blog_servers"': 1,
      'code="node_already_attested",outcome="failure",policy="blog_servers"': 1,
    });
    expect(seriesOf(samples, proofs)).toMatchObject({ 'attestor_type="aws_iid",outcome="success"': 2 });
  });
});

describe('OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set', () => {
  it('pushes the login counters to the collector over OTLP/HTTP', async () => {
    const bodies: string[] = [];
    const collector = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.url === '/v1/metrics') bodies.push(Buffer.concat(chunks).toString('utf8'));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const saved = {
      endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
      interval: process.env.OTEL_METRIC_EXPORT_INTERVAL,
    };
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    process.env.OTEL_METRIC_EXPORT_INTERVAL = '200';
    const server = await startTestServer({ policies: { 'policy.yaml': joinTokenPolicy() } });
    try {
      const { token } = await newJoinToken(server);
      expect((await login(server, { join_token: { token } })).status).toBe(200);
      const exported = () => bodies.some((body) => body.includes('"attestd.logins"') && body.includes('"success"'));
      expect(await until(exported, 20_000)).toBe(true);
    } finally {
      await server.stop();
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved.endpoint;
      process.env.OTEL_METRIC_EXPORT_INTERVAL = saved.interval;
      if (saved.endpoint === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      if (saved.interval === undefined) delete process.env.OTEL_METRIC_EXPORT_INTERVAL;
      collector.close();
    }
  });
});
