import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { AGENT_PROOFS } from '@libs/contracts/telemetry';
import { LoginError, runLogin } from './login';
import { main } from './main';
import type { ProofCollector } from './proofs/collector';
import { createCollector } from './proofs/index';
import { createAgentTelemetry, meteredTelemetry, NO_TELEMETRY, type ProofRecorder } from './telemetry';
import { startFakeAttestd, type FakeAttestd } from './testing/fake-attestd';

/** A recorder that remembers what it was told. */
function recorder(): ProofRecorder & { seen: string[] } {
  const seen: string[] = [];
  return { seen, proof: (type, outcome) => void seen.push(`${type}:${outcome}`) };
}

describe('agent telemetry', () => {
  it('counts nothing and exports nowhere without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    expect(createAgentTelemetry({})).toBe(NO_TELEMETRY);
    expect(createAgentTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(NO_TELEMETRY);
    await expect(NO_TELEMETRY.flush()).resolves.toBeUndefined();
  });

  it('counts attestd.agent.proofs by attestor type and outcome, exported on flush', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const telemetry = meteredTelemetry(
      new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 }),
    );
    telemetry.proof('aws_iid', 'success');
    telemetry.proof('aws_iid', 'success');
    telemetry.proof('join_token', 'failed');
    expect(exporter.getMetrics()).toEqual([]);

    await telemetry.flush();

    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)) as SumMetricData[];
    expect(metrics.map((m) => m.descriptor.name)).toEqual([AGENT_PROOFS.name]);
    expect(metrics[0]!.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value }))).toEqual([
      { attributes: { attestor_type: 'aws_iid', outcome: 'success' }, value: 2 },
      { attributes: { attestor_type: 'join_token', outcome: 'failed' }, value: 1 },
    ]);
  });

  describe('over OTLP/HTTP', () => {
    let collector: Server;
    let received: { url: string; body: string }[];
    beforeEach(async () => {
      received = [];
      collector = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          received.push({ url: request.url ?? '', body: Buffer.concat(chunks).toString('latin1') });
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    });
    afterEach(() => new Promise<void>((resolve) => collector.close(() => resolve())));

    it('sends the counter to OTEL_EXPORTER_OTLP_ENDPOINT/v1/metrics when flushed', async () => {
      const { port } = collector.address() as AddressInfo;
      const telemetry = createAgentTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/` });
      expect(telemetry).not.toBe(NO_TELEMETRY);
      telemetry.proof('join_token', 'success');
      await telemetry.flush();
      expect(received.map((r) => r.url)).toEqual(['/v1/metrics']);
      expect(received[0]!.body).toContain(AGENT_PROOFS.name);
      expect(received[0]!.body).toContain('join_token');
    });

    it('is flushed by the CLI before it returns, after a login', async () => {
      const { port } = collector.address() as AddressInfo;
      const fake = await startFakeAttestd({ joinTokens: { T: 'tok-1' } });
      const out = await mkdtemp(join(tmpdir(), 'attestd-agent-otlp-'));
      try {
        const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, ATTESTD_JOIN_TOKEN: 'T' };
        const status = await main(['login', '--server', fake.url, '--attestor', 'join_token', '--out', out], env, {
          stdout: () => undefined,
          stderr: () => undefined,
        });
        expect(status).toBe(0);
        expect(received.map((r) => r.url)).toEqual(['/v1/metrics']);
        expect(received[0]!.body).toContain(AGENT_PROOFS.name);
      } finally {
        await fake.close();
        await rm(out, { recursive: true, force: true });
      }
    });
  });
});

describe('runLogin counts each proof it collects', () => {
  let fake: FakeAttestd;
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'attestd-agent-telemetry-'));
  });
  afterEach(async () => {
    await fake?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('records a success for a collected proof', async () => {
    fake = await startFakeAttestd({ joinTokens: { T: 'tok-1' } });
    const proofs = recorder();
    await runLogin({ server: fake.url, attestors: ['join_token'], joinToken: 'T', out: join(root, 'out') }, { proofs });
    expect(proofs.seen).toEqual(['join_token:success']);
  });

  it('records a failure for a proof that could not be collected, and sends nothing', async () => {
    fake = await startFakeAttestd({ joinTokens: { T: 'tok-1' }, policyRequires: ['join_token', 'aws_iid'] });
    const failing: ProofCollector = {
      type: 'aws_iid',
      collect: () => Promise.reject(new Error('aws_iid: IMDS unreachable')),
    };
    const proofs = recorder();
    const login = runLogin(
      { server: fake.url, attestors: ['join_token', 'aws_iid'], joinToken: 'T', out: join(root, 'out') },
      { proofs, createCollector: (name, settings) => (name === 'aws_iid' ? failing : createCollector(name, settings)) },
    );
    await expect(login).rejects.toThrow(LoginError);
    expect(proofs.seen.sort()).toEqual(['aws_iid:failed', 'join_token:success']);
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/agent/login']);
  });
});
