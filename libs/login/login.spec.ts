import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509';
import { ProofRejected, type Attestor } from '@libs/attestors/attestor';
import { AttestorRegistry } from '@libs/attestors/registry';
import type { LoginFailureRecord, LoginRecord, LoginWriteResult, NewAuditEvent } from '@libs/persistence';
import { CertificateAuthority, generateCaKey } from '@libs/pki';
import { compileAgentAttestation } from '@libs/policy';
import { Login } from './login';
import { LoginIdCodec } from './login-id';
import type { LoginObserver } from './ports';

/** Verifies `{ node }` unless the node is `rejected`. */
const nodeAttestor: Attestor<{ node: string }> = {
  type: 'node',
  attributes: ['name'],
  singleValued: ['name'],
  nodeUnique: ['name'],
  callerChosen: [],
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  proofSchema: {
    type: 'object',
    required: ['node'],
    additionalProperties: false,
    properties: { node: { type: 'string' } },
  },
  defaultSpiffeIdPath: '/agent/node/{{node.name}}',
  bindsChallenge: false,
  async verify(proof) {
    if (proof.node === 'rejected') throw new ProofRejected('node: rejected is not known');
    return { attributes: { name: [proof.node] }, selectors: [`name:${proof.node}`], tofuKey: `node/${proof.node}` };
  },
};

const request = { requestId: 'r-1', sourceIp: '10.0.0.1' };
const now = new Date('2030-01-01T00:00:00Z');
const made = generateCaKey('example.org', now, 86_400);
const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });

async function csrPem(): Promise<string> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await Pkcs10CertificateRequestGenerator.create(
    { keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } },
    webcrypto,
  );
  return csr.toString('pem');
}

/** A Login on plain fakes, with what it wrote, audited and reported. */
function login(answer: LoginWriteResult = { outcome: 'recorded' }) {
  const written: LoginRecord[] = [];
  const failures: LoginFailureRecord[] = [];
  const audited: NewAuditEvent[] = [];
  const events: string[] = [];
  const report =
    (name: string) =>
    (...args: unknown[]) =>
      void events.push(`${name} ${JSON.stringify(args)}`);
  const observer: LoginObserver = {
    startRefused: report('startRefused'),
    started: report('started'),
    noPolicy: report('noPolicy'),
    proofVerified: report('proofVerified'),
    refused: report('refused'),
    authorized: report('authorized'),
    tofuConflict: report('tofuConflict'),
    spiffeIdInUse: report('spiffeIdInUse'),
    contended: report('contended'),
    failureNotRecorded: report('failureNotRecorded'),
    completed: (outcome) =>
      void events.push(`completed ${outcome.ok ? 'ok' : outcome.code} ${outcome.policy ?? 'none'}`),
  };
  const use = new Login({
    registry: new AttestorRegistry([nodeAttestor, { ...nodeAttestor, type: 'other' }]),
    activeConfig: {
      policies: compileAgentAttestation(
        { policies: [{ name: 'nodes', requiredAttestors: [{ type: 'node' }] }] } as never,
        [nodeAttestor],
      ),
    },
    loginIds: new LoginIdCodec(randomBytes(32)),
    issuer: ca,
    writes: {
      write: async (record) => (written.push(record), answer),
      recordFailure: async (failure) => (failures.push(failure), true),
      isUnavailable: () => false,
    },
    audit: { append: async (event) => void audited.push(event) },
    clock: { now: () => now },
    observer,
    trustDomain: 'example.org',
  });
  return { use, written, failures, audited, events };
}

describe('Login', () => {
  it('starts and completes a login: one write, the SVID answered, the outcome reported', async () => {
    const { use, written, failures, events } = login();
    const started = await use.start({ providedMethods: ['node'] }, request);
    expect(started).toMatchObject({ requiredAttestors: ['node'], challenges: {} });
    const done = await use.complete(
      started.loginId,
      { proofs: { node: { node: 'web-1' } }, csr: await csrPem() },
      request,
    );
    expect(done).toMatchObject({
      spiffeId: 'spiffe://example.org/agent/node/web-1',
      policy: 'nodes',
      selectors: ['node:name:web-1'],
      bundle: ca.bundlePem(),
      reattestable: false,
    });
    expect(written).toEqual([
      expect.objectContaining({
        spiffeId: done.spiffeId,
        agentId: done.agentId,
        tofuKeys: ['node/web-1'],
        requestId: 'r-1',
      }),
    ]);
    expect(failures).toEqual([]);
    expect(events.filter((e) => !e.startsWith('started'))).toEqual([
      'proofVerified ["node","success"]',
      expect.stringMatching(/^authorized /),
      'completed ok nodes',
    ]);
  });

  it('refuses a login ID presented twice before verifying anything again', async () => {
    const { use, events } = login();
    const { loginId } = await use.start({ providedMethods: ['node'] }, request);
    const body = { proofs: { node: { node: 'rejected' } }, csr: await csrPem() };
    await expect(use.complete(loginId, body, request)).rejects.toMatchObject({ code: 'attestation_failed' });
    await expect(use.complete(loginId, body, request)).rejects.toMatchObject({ code: 'login_not_found' });
    expect(events.filter((e) => e.startsWith('proofVerified'))).toEqual(['proofVerified ["node","failed"]']);
  });

  it('audits a refused proof and uses the login ID up, in the failure write', async () => {
    const { use, written, failures, events } = login();
    const { loginId } = await use.start({ providedMethods: ['node'] }, request);
    await expect(
      use.complete(loginId, { proofs: { node: { node: 'rejected' } }, csr: await csrPem() }, request),
    ).rejects.toMatchObject({ code: 'attestation_failed' });
    expect(written).toEqual([]);
    expect(failures).toEqual([
      expect.objectContaining({
        code: 'attestation_failed',
        reason: 'node: rejected is not known',
        attestors: ['node'],
      }),
    ]);
    expect(events).toContain('completed attestation_failed none');
  });

  it('reports a TOFU conflict the write found, with the policy that allowed', async () => {
    const { use, events } = login({ outcome: 'node_already_attested', tofuKey: 'node/web-1', holderId: 'a-0' });
    const { loginId } = await use.start({ providedMethods: ['node'] }, request);
    await expect(
      use.complete(loginId, { proofs: { node: { node: 'web-1' } }, csr: await csrPem() }, request),
    ).rejects.toMatchObject({ code: 'node_already_attested' });
    expect(events).toContain(
      'tofuConflict [{"attestor":"node","tofuKey":"node/web-1","agentId":"a-0","requestId":"r-1"}]',
    );
    expect(events).toContain('completed node_already_attested nodes');
  });

  it('refuses an unknown attestor at the start, writing nothing', async () => {
    const { use, audited, events } = login();
    await expect(use.start({ providedMethods: ['unknown'] }, request)).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(events).toEqual(['startRefused ["invalid_request"]']);
    expect(audited).toEqual([]);
  });

  it('audits a start no policy takes', async () => {
    const { use, audited, events } = login();
    await expect(use.start({ providedMethods: ['other'] }, request)).rejects.toMatchObject({
      code: 'no_policy_for_methods',
    });
    expect(events).toEqual(['noPolicy [["other"],"r-1"]', 'startRefused ["no_policy_for_methods"]']);
    expect(audited).toEqual([
      expect.objectContaining({
        event: 'login',
        outcome: 'failure',
        code: 'no_policy_for_methods',
        attestors: ['other'],
      }),
    ]);
  });
});
