import { generateAgentKey } from '../apps/agent/keys';
import { identityDocument, startAwsSimulator, type AwsSimulator, type InstanceInit } from '../libs/testing/aws-simulator';
import type { HttpClient, Operation } from './http-load';
import { iidSigning } from './iid-proofs';

// The simulated fleet the bench logs in: EC2 instances in the server's own
// account (allowed without configuration), each with a signed identity
// document, in named groups so every timed phase meets instances it has
// never logged in (TOFU) but whose look-ups are cached.

export const ACCOUNT = '111111111111';
const LAUNCH_TIME = new Date('2026-11-01T00:00:00Z');

export interface IidProof {
  document: string;
  signature: string;
}

export interface Fleet {
  sim: AwsSimulator;
  certificatePem: string;
  groups: Record<string, IidProof[]>;
  /** CSRs the logins take turns with (the server signs each login's CSR key) */
  csrs: string[];
}

/** `i-` and 17 hex digits: every document has the same length, as the template signing needs. */
function instanceId(group: number, index: number): string {
  return `i-0${group.toString(16)}${index.toString(16).padStart(15, '0')}`;
}

export async function startFleet(sizes: Record<string, number>): Promise<Fleet> {
  const names = Object.keys(sizes);
  const instances: InstanceInit[] = names.flatMap((name, group) =>
    Array.from({ length: sizes[name]! }, (_, i) => ({
      accountId: ACCOUNT,
      region: 'us-east-1',
      instanceId: instanceId(group + 1, i),
      privateIp: '10.0.0.10',
      launchTime: LAUNCH_TIME,
      tags: { env: 'prod' },
    })),
  );
  const sim = await startAwsSimulator({ accounts: [{ id: ACCOUNT }], instances });
  const documents = instances.map((i) => identityDocument(sim.world.getInstance(i.instanceId!)!));
  const signing = iidSigning(documents[0]!);
  const signatures = await signing.signAll(documents);
  const groups: Record<string, IidProof[]> = {};
  let at = 0;
  for (const name of names) {
    groups[name] = documents.slice(at, at + sizes[name]!).map((document, i) => ({ document, signature: signatures[at + i]! }));
    at += sizes[name]!;
  }
  const csrs = await Promise.all(Array.from({ length: 16 }, async () => (await generateAgentKey()).csrPem));
  return { sim, certificatePem: signing.signer.certificatePem, groups, csrs };
}

function codeOf(body: string): string {
  try {
    return String((JSON.parse(body) as { code?: string }).code ?? '');
  } catch {
    return '';
  }
}

/** One aws_iid login (start, then complete) per index; `ok` when the completion answers `expectStatus`. */
export function loginOperation(client: HttpClient, proofs: IidProof[], csrs: string[], expectStatus = 200): Operation {
  return async (index) => {
    const start = await client.call('POST', '/v1/agent/login', { providedMethods: ['aws_iid'] });
    if (start.status !== 200) return `start ${start.status} ${codeOf(start.body)}`;
    const { loginId } = JSON.parse(start.body) as { loginId: string };
    const done = await client.call('POST', `/v1/agent/login/${encodeURIComponent(loginId)}/complete`, {
      proofs: { aws_iid: proofs[index]! },
      csr: csrs[index % csrs.length]!,
    });
    return done.status === expectStatus ? 'ok' : `complete ${done.status} ${codeOf(done.body)}`;
  };
}

/** The policy the timed phases log in with; `deniedRound` makes a version whose rule nothing meets (cache warm-up). */
export function fleetPolicy(deniedRound?: number): string {
  const allowed = deniedRound === undefined ? '[prod]' : `[warm-up-${deniedRound}]`;
  return `section: AgentAttestation
schema: v1
spec:
  policies:
    - name: ec2_fleet
      requiredAttestors: [{ type: aws_iid }]
      rules:
        - { attribute: aws_iid.ec2.instance.tag.env, in: ${allowed} }
`;
}

export function certificatesSection(pem: string): string {
  const indented = pem.trim().split('\n').map((line) => `        ${line}`).join('\n');
  return `section: AwsIidCertificates\nschema: v1\nspec:\n  replaceBuiltIn: true\n  certificates:\n    - regions: ["*"]\n      pem: |\n${indented}\n`;
}
