import fc from 'fast-check';
import type { AttestorDescriptor } from '@libs/attestors/attestor';
import { builtInDescriptors } from '@libs/attestors/catalog';
import type { AuditEvent } from '@libs/contracts/admin-api';
import { compileAgentAttestation, validateDocument, type AgentAttestationSpec } from '@libs/policy';
import { replayLogins, replayRegistry, type ReplayContext } from './login-replay';

const zoneAttestor: AttestorDescriptor = {
  type: 'zone_node',
  attributes: ['node.id', 'zone'],
  singleValued: ['node.id', 'zone'],
  nodeUnique: ['node.id'],
  callerChosen: ['zone'],
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  proofSchema: { type: 'object' },
  defaultSpiffeIdPath: '/agent/zone_node/{{zone_node.node.id}}',
  bindsChallenge: false,
};
const catalog = [...builtInDescriptors(), zoneAttestor];

function context(yaml: string): ReplayContext {
  const checked = validateDocument('AgentAttestation', yaml, catalog);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  return {
    policies: compileAgentAttestation(checked.value.spec as AgentAttestationSpec, catalog),
    registry: replayRegistry(catalog),
    trustDomain: 'example.org',
    now: new Date('2025-01-01T00:00:00Z'),
  };
}

const document = (policies: string) => `section: AgentAttestation\nschema: v1\nspec:\n  policies:\n${policies}`;
const ZONES = (zones: string, name = 'zones') => `    - name: ${name}
      requiredAttestors: [{ type: zone_node }]
      rules: [{ attribute: zone_node.zone, in: [${zones}] }]
      spiffeIdTemplate: "/${name}/{{zone_node.node.id}}/{{agent.uuid}}"
`;
const LAB = `    - name: lab
      requiredAttestors: [{ type: join_token }]
`;

let nextId = 1;
function attempt(fields: Partial<AuditEvent>): AuditEvent {
  return {
    id: String(nextId++),
    at: '2025-01-01T00:00:00.000Z',
    event: 'login',
    outcome: 'success',
    code: null,
    reason: null,
    attestors: ['zone_node'],
    policy: null,
    attributes: null,
    spiffeId: null,
    agentId: null,
    sourceIp: '10.0.0.1',
    requestId: null,
    actor: null,
    ...fields,
  };
}
const node = (id: string, zone: string) => ({ 'zone_node.node.id': [id], 'zone_node.zone': [zone] });
const AGENT = '7f1c3a52-0000-4000-8000-000000000001';

describe('replaying login attempts against a candidate', () => {
  it('counts a TOFU conflict as allowed by the policy, so a tighter rule denies it', async () => {
    const conflict = attempt({
      outcome: 'failure',
      code: 'node_already_attested',
      policy: 'zones',
      attributes: node('n1', 'eu'),
      agentId: AGENT,
    });
    const result = await replayLogins([conflict], context(document(ZONES('us'))));
    expect(result.nowDenied).toEqual([
      expect.objectContaining({
        was: expect.objectContaining({ allowed: true, code: 'node_already_attested' }),
        now: expect.objectContaining({ allowed: false, code: 'policy_denied', policy: 'zones' }),
      }),
    ]);
  });

  it('picks the first policy in document order that holds, as a login does', async () => {
    const allowed = attempt({
      policy: 'zones',
      attributes: node('n1', 'eu'),
      agentId: AGENT,
      spiffeId: `spiffe://example.org/zones/n1/${AGENT}`,
    });
    const result = await replayLogins([allowed], context(document(ZONES('eu', 'first') + ZONES('eu'))));
    expect(result.changed).toEqual([
      expect.objectContaining({
        now: expect.objectContaining({ policy: 'first', spiffeId: `spiffe://example.org/first/n1/${AGENT}` }),
      }),
    ]);
    expect(result.unchanged).toBe(0);
  });

  it('renders {{agent.uuid}} as the nil UUID for attempts that made no agent', async () => {
    const denied = attempt({
      outcome: 'failure',
      code: 'policy_denied',
      policy: 'zones',
      attributes: node('n2', 'us'),
    });
    const result = await replayLogins([denied], context(document(ZONES('eu, us'))));
    expect(result.nowAllowed[0]?.now.spiffeId).toBe(
      'spiffe://example.org/zones/n2/00000000-0000-0000-0000-000000000000',
    );
  });

  it('does not grant a policy needing an attestor whose proof the attempt did not verify', async () => {
    const denied = attempt({
      outcome: 'failure',
      code: 'policy_denied',
      policy: 'zones',
      attestors: ['zone_node', 'join_token'],
      attributes: node('n2', 'us'),
    });
    const both = `    - name: both
      requiredAttestors: [{ type: zone_node }, { type: join_token }]
`;
    const result = await replayLogins([denied], context(document(both)));
    expect(result).toMatchObject({ evaluated: 1, unchanged: 1, nowAllowed: [] });
  });

  it('denies a rendered SPIFFE ID outside the path alphabet, as a login does', async () => {
    const allowed = attempt({ policy: 'zones', attributes: node('n@1', 'eu'), agentId: AGENT });
    const result = await replayLogins(
      [allowed],
      context(document(`    - name: plain\n      requiredAttestors: [{ type: zone_node }]\n`)),
    );
    expect(result.nowDenied[0]?.now).toMatchObject({
      allowed: false,
      code: 'policy_denied',
      reason: expect.stringContaining('zone_node.node.id'),
    });
  });

  it('skips attempts with no verified attributes, and ignores attributes of unknown attestors', async () => {
    const failed = attempt({ outcome: 'failure', code: 'attestation_failed', reason: 'zone_node: bad' });
    const foreign = attempt({
      outcome: 'failure',
      code: 'policy_denied',
      policy: 'old',
      attributes: { 'gone.id': ['x'], nodot: ['y'] },
    });
    expect(await replayLogins([failed, foreign], context(document(LAB)))).toMatchObject({ evaluated: 0, skipped: 2 });
  });

  it('accounts for every attempt exactly once, whatever was recorded', async () => {
    const recorded = fc.record({
      zone: fc.constantFrom('eu', 'us', 'ap'),
      outcome: fc.constantFrom<AuditEvent['outcome']>('success', 'failure'),
      code: fc.constantFrom(null, 'policy_denied', 'node_already_attested', 'attestation_failed'),
      policy: fc.constantFrom(null, 'zones', 'lab'),
      verified: fc.boolean(),
    });
    const ctx = context(document(ZONES('eu, ap') + LAB));
    await fc.assert(
      fc.asyncProperty(fc.array(recorded, { maxLength: 20 }), async (rows) => {
        const attempts = rows.map((r) =>
          attempt({
            outcome: r.outcome,
            code: r.code,
            policy: r.policy,
            attributes: r.verified ? node('n', r.zone) : null,
          }),
        );
        const result = await replayLogins(attempts, ctx);
        expect(result.evaluated + result.skipped).toBe(attempts.length);
        expect(result.unchanged + result.nowAllowed.length + result.nowDenied.length + result.changed.length).toBe(
          result.evaluated,
        );
        for (const item of result.nowAllowed) expect(item.now.spiffeId).toMatch(/^spiffe:\/\/example\.org\/zones\/n\//);
      }),
    );
  });
});
