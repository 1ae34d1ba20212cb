import type { AttestorDescriptor } from '@libs/attestors/attestor';
import { validateDocument, type SectionName } from './index';
import { builtInDescriptors } from '@libs/attestors/catalog';

const builtIns = builtInDescriptors();

const policies = (body: string) => `section: AgentAttestation\nschema: v1\nspec:\n  policies:\n${body}`;

function errorsOf(section: SectionName, text: string, catalog: readonly AttestorDescriptor[] = builtIns) {
  const result = validateDocument(section, text, catalog);
  if (result.ok) throw new Error('expected the document to be rejected');
  return result.errors;
}

describe('validateDocument', () => {
  it('returns the document as written, without defaults filled in', () => {
    const result = validateDocument(
      'AgentAttestation',
      policies('    - name: a\n      requiredAttestors: [{ type: join_token }]\n'),
      builtIns,
    );
    expect(result).toEqual({
      ok: true,
      value: {
        section: 'AgentAttestation',
        schema: 'v1',
        spec: { policies: [{ name: 'a', requiredAttestors: [{ type: 'join_token' }] }] },
      },
      warnings: [],
    });
  });

  it('accepts a template two nodes can render alike, with a warning placed at it', () => {
    const text = policies(
      '    - name: ec2\n      requiredAttestors: [{ type: aws_iid }]\n      spiffeIdTemplate: "/ec2/{{aws_iid.ec2.instance.id}}"\n' +
        '    - name: named\n      requiredAttestors: [{ type: aws_iid }]\n      spiffeIdTemplate: "/node/{{aws_iid.ec2.instance.tag.Name}}"\n',
    );
    expect(validateDocument('AgentAttestation', text, builtIns)).toMatchObject({
      ok: true,
      warnings: [
        {
          path: '/spec/policies/1/spiffeIdTemplate',
          line: 10,
          column: 25,
          message: expect.stringMatching(
            /^\{\{aws_iid\.ec2\.instance\.tag\.Name\}\} can be set to the same value on two nodes/,
          ),
        },
      ],
    });
  });

  it('gives no warnings with an invalid document, only its errors', () => {
    const text = policies(
      '    - name: named\n      requiredAttestors: [{ type: aws_iid }]\n      spiffeIdTemplate: "/node/{{aws_iid.ec2.instance.tag.Name}}"\n      svidTtl: 1h\n      tofu: maybe\n',
    );
    expect(validateDocument('AgentAttestation', text, builtIns)).toEqual({
      ok: false,
      errors: [expect.objectContaining({ path: '/spec/policies/0/tofu' })],
    });
  });

  it('reports the line and column of the offending node', () => {
    const text = policies(
      '    - name: web\n      requiredAttestors:\n        - type: aws_iid\n          config:\n            eksClusterNames: web-cluster\n',
    );
    expect(errorsOf('AgentAttestation', text)).toEqual([
      {
        path: '/spec/policies/0/requiredAttestors/0/config/eksClusterNames',
        line: 9,
        column: 30,
        message: 'must be array',
      },
    ]);
  });

  it('accepts a JSON body with the json content type', () => {
    const body = JSON.stringify({ section: 'KubernetesClusters', schema: 'v1', spec: { clusters: [] } });
    expect(validateDocument('KubernetesClusters', body, builtIns, { contentType: 'json' }).ok).toBe(true);
  });

  it('places errors in a JSON body by line and column too', () => {
    const body = '{\n  "section": "KubernetesClusters",\n  "schema": "v1",\n  "spec": { "clusters": 7 }\n}';
    expect(validateDocument('KubernetesClusters', body, builtIns, { contentType: 'json' })).toEqual({
      ok: false,
      errors: [{ path: '/spec/clusters', line: 4, column: 25, message: 'must be array' }],
    });
  });

  it('rejects an unknown requested section at /section', () => {
    expect(errorsOf('Nope' as SectionName, 'section: Nope\n')).toEqual([
      { path: '/section', message: expect.stringMatching(/^unknown section Nope/) },
    ]);
  });

  it('rejects a document of another section at /section', () => {
    const text = 'section: KubernetesClusters\nschema: v1\nspec: { clusters: [] }\n';
    expect(errorsOf('AgentAttestation', text)).toEqual([
      {
        path: '/section',
        line: 1,
        column: 10,
        message: 'must be AgentAttestation, the section being written (found KubernetesClusters)',
      },
    ]);
  });

  it('rejects an unknown section name in the envelope', () => {
    expect(errorsOf('AgentAttestation', 'section: Other\nschema: v1\nspec: {}\n')[0]).toMatchObject({
      path: '/section',
      message: 'must be one of AgentAttestation, AwsIidCertificates, KubernetesClusters',
    });
  });

  it('rejects unknown envelope keys', () => {
    expect(
      errorsOf(
        'AgentAttestation',
        policies('    []\n').replace('  policies:\n    []', '  policies: []') + 'extra: 1\n',
      ),
    ).toEqual([{ path: '/extra', line: 5, column: 1, message: 'unknown key' }]);
  });

  it('rejects an empty document', () => {
    expect(errorsOf('AgentAttestation', '')).toEqual([{ path: '', message: 'must be object' }]);
  });

  it('rejects a body that is not text', () => {
    expect(errorsOf('AgentAttestation', Buffer.from('x') as unknown as string)[0]?.message).toBe(
      'document body must be text',
    );
  });

  it('collects errors from schema and semantic checks in one pass, in document order', () => {
    const text = policies(
      [
        '    - name: a',
        '      requiredAttestors: [{ type: aws_iid, config: { nope: 1 } }]',
        '      rules: [{ attribute: aws_iid.nope, equals: x }]',
        '      svidTtl: 1s',
        '      extra: true',
        '    - name: a',
        '      requiredAttestors: [{ type: join_token }]',
        '',
      ].join('\n'),
    );
    expect(errorsOf('AgentAttestation', text).map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual([
      '6:54 /spec/policies/0/requiredAttestors/0/config/nope',
      '7:28 /spec/policies/0/rules/0/attribute',
      '8:16 /spec/policies/0/svidTtl',
      '9:7 /spec/policies/0/extra',
      '10:13 /spec/policies/1/name',
    ]);
  });

  it('skips semantic checks of a rule the schema rejected', () => {
    const text = policies(
      '    - name: a\n      requiredAttestors: [{ type: aws_iid }]\n      rules: [{ attribute: aws_iid.nope, equals: 1 }]\n',
    );
    expect(errorsOf('AgentAttestation', text).map((e) => e.path)).toEqual(['/spec/policies/0/rules/0/equals']);
  });

  it('reports rules that are not a list without checking them further', () => {
    const text = policies(
      '    - name: a\n      requiredAttestors: [{ type: aws_iid }]\n      rules: { attribute: aws_iid.iam.role }\n',
    );
    expect(errorsOf('AgentAttestation', text).map((e) => `${e.path}: ${e.message}`)).toEqual([
      '/spec/policies/0/rules: must be array',
    ]);
  });

  it('still checks svidTtl when requiredAttestors is malformed', () => {
    const text = policies('    - name: a\n      requiredAttestors: join_token\n      svidTtl: 1m\n');
    expect(errorsOf('AgentAttestation', text).map((e) => e.path)).toEqual([
      '/spec/policies/0/requiredAttestors',
      '/spec/policies/0/svidTtl',
    ]);
  });

  it('does not check rule attributes while an attestor type is unknown', () => {
    const text = policies(
      '    - name: a\n      requiredAttestors: [{ type: gcp }]\n      rules: [{ attribute: gcp.project, exists: true }]\n',
    );
    expect(errorsOf('AgentAttestation', text).map((e) => e.path)).toEqual([
      '/spec/policies/0/requiredAttestors/0/type',
    ]);
  });

  it('skips semantic checks when the policy list itself is malformed', () => {
    expect(errorsOf('AgentAttestation', 'section: AgentAttestation\nschema: v1\nspec: { policies: {} }\n')).toEqual([
      { path: '/spec/policies', line: 3, column: 19, message: 'must be array' },
    ]);
  });

  it('rejects a default SPIFFE ID path the catalog got wrong', () => {
    const broken = builtIns.map((d) =>
      d.type === 'join_token' ? { ...d, defaultSpiffeIdPath: '/agent/{{join_token.nope}}' } : d,
    );
    expect(
      errorsOf(
        'AgentAttestation',
        policies('    - name: a\n      requiredAttestors: [{ type: join_token }]\n'),
        broken,
      )[0]?.message,
    ).toMatch(/^default SPIFFE ID path of join_token is unusable: unknown attribute join_token.nope/);
  });

  it('rejects a cluster without any key source', () => {
    const text =
      'section: KubernetesClusters\nschema: v1\nspec:\n  clusters:\n    - { name: a, issuer: "https://a", audience: x }\n';
    expect(errorsOf('KubernetesClusters', text)).toEqual([
      { path: '/spec/clusters/0', line: 5, column: 7, message: 'must have exactly one of jwksUri and jwks' },
    ]);
  });

  it('rejects an https URL that does not parse', () => {
    const text =
      'section: KubernetesClusters\nschema: v1\nspec:\n  clusters:\n    - { name: a, issuer: "https://a b", audience: x, jwksUri: "https://a/k" }\n';
    expect(errorsOf('KubernetesClusters', text)[0]).toMatchObject({
      path: '/spec/clusters/0/issuer',
      message: 'must be an https URL when keys are fetched from jwksUri',
    });
  });

  it('accepts any issuer string when the keys are inline (minikube signs kubernetes/serviceaccount)', () => {
    const jwks =
      '{ keys: [{ kty: EC, crv: P-256, kid: k1, x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }] }';
    const text = `section: KubernetesClusters\nschema: v1\nspec:\n  clusters:\n    - { name: mini, issuer: kubernetes/serviceaccount, audience: x, jwks: ${jwks} }\n`;
    expect(validateDocument('KubernetesClusters', text, builtIns)).toMatchObject({ ok: true });
  });

  it('requires an https issuer and jwksUri when the keys are fetched', () => {
    const text =
      'section: KubernetesClusters\nschema: v1\nspec:\n  clusters:\n    - { name: a, issuer: kubernetes/serviceaccount, audience: x, jwksUri: "https://a/k" }\n';
    expect(errorsOf('KubernetesClusters', text)).toEqual([
      expect.objectContaining({
        path: '/spec/clusters/0/issuer',
        message: 'must be an https URL when keys are fetched from jwksUri',
      }),
    ]);
    const plain =
      'section: KubernetesClusters\nschema: v1\nspec:\n  clusters:\n    - { name: a, issuer: "https://a", audience: x, jwksUri: "http://a/k" }\n';
    expect(errorsOf('KubernetesClusters', plain)).toEqual([
      expect.objectContaining({ path: '/spec/clusters/0/jwksUri', message: 'must be an https URL' }),
    ]);
  });

  it('rejects a PEM holding two certificates', () => {
    const cert = '-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----';
    const text = `section: AwsIidCertificates\nschema: v1\nspec:\n  certificates:\n    - { regions: ["*"], pem: "${cert}\\n${cert}" }\n`;
    expect(errorsOf('AwsIidCertificates', text)[0]).toMatchObject({ path: '/spec/certificates/0/pem' });
  });

  it('rejects a PEM whose body is not base64', () => {
    const text =
      'section: AwsIidCertificates\nschema: v1\nspec:\n  certificates:\n    - { regions: ["*"], pem: "-----BEGIN CERTIFICATE-----\\nnot base64!\\n-----END CERTIFICATE-----" }\n';
    expect(errorsOf('AwsIidCertificates', text)[0]).toMatchObject({ path: '/spec/certificates/0/pem' });
  });
});

describe('AwsIidCertificates regions', () => {
  it.each(['us-east-1', 'us-gov-west-1', 'eusc-de-east-1', 'ap-southeast-7', '*'])(
    'accepts the region %s',
    (region) => {
      const body = `section: AwsIidCertificates\nschema: v1\nspec:\n  certificates:\n    - regions: ["${region}"]\n      pem: |\n        -----BEGIN CERTIFICATE-----\n        QUJD\n        -----END CERTIFICATE-----\n`;
      const result = validateDocument('AwsIidCertificates', body, []);
      expect(result.ok ? [] : result.errors.filter((e) => e.path.includes('regions'))).toEqual([]);
    },
  );
});
