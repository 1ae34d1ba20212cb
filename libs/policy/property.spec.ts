import fc from 'fast-check';
import { stringify } from 'yaml';
import type { Attributes } from '@libs/attestors/attestor';
import { compileAgentAttestation, validateDocument, type RuleSpec, type SectionName } from './index';
import { builtInDescriptors } from '@libs/attestors/catalog';

const builtIns = builtInDescriptors();

// Whatever arrives, validation answers ok or errors and compiled policies
// answer a decision: a thrown exception would be a 500, which api.md calls a bug.

const sections: SectionName[] = ['AgentAttestation', 'AwsIidCertificates', 'KubernetesClusters'];
const attributeNames = [
  'aws_iid.account.id',
  'aws_iid.ec2.instance.id',
  'aws_iid.ec2.instance.region',
  'aws_iid.ec2.instance.private_ip',
  'aws_iid.ec2.instance.tag.env',
  'aws_iid.iam.role',
  'k8s_psat.node.name',
  'k8s_psat.pod.uid',
];

function expectWellFormed(result: ReturnType<typeof validateDocument>): void {
  if (result.ok) return;
  expect(result.errors.length).toBeGreaterThan(0);
  for (const error of result.errors) {
    expect(typeof error.path).toBe('string');
    expect(typeof error.message).toBe('string');
  }
}

// mostly one well-formed operator each, so that many generated policies validate and get evaluated
const valueRule: fc.Arbitrary<RuleSpec> = fc
  .tuple(
    fc.constantFrom(...attributeNames),
    fc.oneof(
      fc.record({ equals: fc.constantFrom('prod', '10.1.2.3', '') }),
      fc.record({ in: fc.array(fc.string(), { minLength: 1, maxLength: 3 }) }),
      fc.record({ glob: fc.constantFrom('*', 'p*', '?rod', '*.*', 'ip-*-internal') }),
      fc.record({ regex: fc.constantFrom('^p', '(a+)+$', '[0-9]+', '') }),
      fc.record({ cidr: fc.constantFrom('10.0.0.0/8', 'fd00::/8', '0.0.0.0/0', '::/0') }),
      fc.record({ exists: fc.boolean() }),
      fc.record({ equalsAttribute: fc.constantFrom(...attributeNames) }),
    ),
    fc.boolean(),
  )
  .map(([attribute, operator, every]) => ({
    attribute,
    ...operator,
    ...(every && !('exists' in operator) && !('equalsAttribute' in operator) ? { every } : {}),
  }));

const rule: fc.Arbitrary<RuleSpec> = fc.letrec<{ rule: RuleSpec }>((tie) => ({
  rule: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: valueRule, weight: 4 },
    fc.record(
      {
        attribute: fc.constantFrom(...attributeNames, 'aws_iid.nope'),
        equals: fc.string(),
        in: fc.array(fc.string(), { maxLength: 3 }),
        glob: fc.string(),
        regex: fc.string(),
        cidr: fc.constantFrom('10.0.0.0/8', 'fd00::/8', '10.0.0.1/8', 'x'),
        exists: fc.boolean(),
        equalsAttribute: fc.constantFrom(...attributeNames),
        every: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    fc.record({ not: tie('rule') }),
    fc.record({ allOf: fc.array(tie('rule'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ anyOf: fc.array(tie('rule'), { minLength: 1, maxLength: 3 }) }),
  ),
})).rule;

const attributes: fc.Arbitrary<Attributes> = fc.dictionary(
  fc.constantFrom(...attributeNames, 'other'),
  fc.oneof(
    fc.array(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6(), fc.constantFrom('prod', '10.1.2.3', 'fd00::1')), {
      maxLength: 3,
    }),
    fc.anything() as fc.Arbitrary<string[]>,
  ),
);

describe('properties', () => {
  it('validateDocument never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.constantFrom(...sections), fc.string({ unit: 'binary', maxLength: 300 }), (section, text) => {
        expectWellFormed(validateDocument(section, text, builtIns));
      }),
      { numRuns: 500 },
    );
  });

  it('validateDocument never throws on arbitrary values written as YAML or JSON', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...sections),
        fc.constantFrom(...sections),
        fc.jsonValue(),
        fc.boolean(),
        (section, written, spec, json) => {
          const value = { section: written, schema: 'v1', spec };
          const body = json ? JSON.stringify(value) : stringify(value);
          expectWellFormed(validateDocument(section, body, builtIns, { contentType: json ? 'json' : 'yaml' }));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('validateDocument never throws on arbitrary non-text bodies', () => {
    fc.assert(
      fc.property(fc.anything(), (body) => {
        expectWellFormed(validateDocument('AgentAttestation', body as string, builtIns));
      }),
      { numRuns: 200 },
    );
  });

  it('validateDocument never throws on policies with arbitrary field values', () => {
    const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof(valid, fc.jsonValue());
    const policy = fc.record(
      {
        name: field(fc.constantFrom('a', 'b')),
        requiredAttestors: field(
          fc.array(
            fc.record(
              { type: field(fc.constantFrom('aws_iid', 'k8s_psat', 'nope')), config: fc.jsonValue() },
              { requiredKeys: [] },
            ),
          ),
        ),
        rules: field(fc.array(field(rule), { maxLength: 3 })),
        spiffeIdTemplate: field(fc.constantFrom('/a/{{aws_iid.ec2.instance.id}}', '/{{agent.uuid}}', 'x')),
        svidTtl: field(fc.constantFrom('1h', '1m', 'x')),
        tofu: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(policy, { maxLength: 3 }), (policies) => {
        const body = stringify({ section: 'AgentAttestation', schema: 'v1', spec: { policies } });
        const result = validateDocument('AgentAttestation', body, builtIns);
        expectWellFormed(result);
        if (result.ok) compileAgentAttestation(result.value.spec, builtIns);
      }),
      { numRuns: 500 },
    );
  });

  it('validateDocument never throws on clusters and certificates with arbitrary field values', () => {
    const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof(valid, fc.jsonValue());
    const cluster = fc.record(
      {
        name: field(fc.constantFrom('a', 'b')),
        issuer: field(fc.constantFrom('https://a', 'https://a b', 'http://a')),
        audience: field(fc.constant('x')),
        jwksUri: field(fc.constant('https://a/k')),
        jwks: field(fc.record({ keys: field(fc.array(fc.object())) }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    );
    const certificate = fc.record(
      {
        regions: field(fc.array(fc.constantFrom('*', 'us-east-1', 'X'))),
        pem: field(fc.constantFrom('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', 'x')),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.array(cluster, { maxLength: 3 }),
        fc.array(certificate, { maxLength: 3 }),
        fc.jsonValue(),
        (clusters, certificates, replaceBuiltIn) => {
          expectWellFormed(
            validateDocument(
              'KubernetesClusters',
              stringify({ section: 'KubernetesClusters', schema: 'v1', spec: { clusters } }),
              builtIns,
            ),
          );
          const spec = { certificates, replaceBuiltIn };
          expectWellFormed(
            validateDocument(
              'AwsIidCertificates',
              stringify({ section: 'AwsIidCertificates', schema: 'v1', spec }),
              builtIns,
            ),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a policy that validates compiles, and its rules never throw on any attribute map', () => {
    fc.assert(
      fc.property(
        fc.array(rule, { maxLength: 4 }),
        fc.array(attributes, { minLength: 1, maxLength: 5 }),
        (rules, maps) => {
          const document = {
            section: 'AgentAttestation',
            schema: 'v1',
            spec: {
              policies: [
                {
                  name: 'p',
                  requiredAttestors: [{ type: 'aws_iid' }, { type: 'k8s_psat', config: { clusters: ['c'] } }],
                  rules,
                },
              ],
            },
          };
          const result = validateDocument('AgentAttestation', stringify(document), builtIns);
          expectWellFormed(result);
          if (!result.ok) return;
          const policy = compileAgentAttestation(result.value.spec, builtIns).policies[0]!; // the document has one
          for (const map of maps) {
            const decision = policy.evaluate(map);
            expect(typeof decision.holds).toBe('boolean');
            if (!decision.holds) expect(decision.failed).toMatch(/^rule \d+ \(.*\) does not hold$/);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rendered SPIFFE ID paths always use the SPIFFE path alphabet', () => {
    const result = validateDocument(
      'AgentAttestation',
      stringify({
        section: 'AgentAttestation',
        schema: 'v1',
        spec: {
          policies: [
            {
              name: 'p',
              requiredAttestors: [{ type: 'aws_iid' }],
              spiffeIdTemplate:
                '/n/{{aws_iid.ec2.instance.region}}/{{aws_iid.account.id}}-{{aws_iid.ec2.instance.id}}/{{agent.uuid}}',
            },
          ],
        },
      }),
      builtIns,
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const policy = compileAgentAttestation(result.value.spec, builtIns).policies[0]!; // the document has one
    const value = fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9._-]{0,6}$/), fc.constantFrom('.', '..', 'a/b'));
    fc.assert(
      fc.property(
        fc.record({
          'aws_iid.ec2.instance.region': fc.array(value, { maxLength: 2 }),
          'aws_iid.account.id': fc.array(value, { maxLength: 2 }),
          'aws_iid.ec2.instance.id': fc.array(value, { maxLength: 2 }),
        }),
        value,
        (map, uuid) => {
          const rendered = policy.renderSpiffeIdPath(map, uuid);
          if (!rendered.ok) {
            expect(rendered.reason).toMatch(/^spiffe_id: /);
            return;
          }
          expect(rendered.path).toMatch(/^(\/[A-Za-z0-9._-]+)+$/);
          expect(rendered.path.split('/')).not.toContain('..');
          expect(rendered.path.split('/')).not.toContain('.');
        },
      ),
      { numRuns: 1000 },
    );
  });
});
