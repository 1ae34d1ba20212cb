import { generateAgentKey, type AgentKey } from '@apps/agent/keys';
import { identityDocument, startAwsSimulator, type AwsSimulator, type InstanceInit } from '@libs/testing/aws-simulator';
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
  /** agent keys the logins (and renewals) take turns with: login `i` sends the CSR of `keys[i % keys.length]` */
  keys: AgentKey[];
}

/** An agent a timed login made: its SVID chain and which of the fleet's keys that SVID certifies. */
export interface HeldAgent {
  certChain: string;
  key: number;
  /** a renewal of it is in flight */
  busy?: boolean;
}

/** Which replica's client serves operation `index` (one replica: always the same). */
export type Route = (index: number) => HttpClient;

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
    groups[name] = documents
      .slice(at, at + sizes[name]!)
      .map((document, i) => ({ document, signature: signatures[at + i]! }));
    at += sizes[name]!;
  }
  const keys = await Promise.all(Array.from({ length: 16 }, () => generateAgentKey()));
  return { sim, certificatePem: signing.signer.certificatePem, groups, keys };
}

export function codeOf(body: string): string {
  try {
    return String((JSON.parse(body) as { code?: string }).code ?? '');
  } catch {
    return '';
  }
}

/**
 * One aws_iid login (start, then complete, both on the same replica) per
 * index; `ok` when the completion answers `expectStatus`. `held`, when
 * given, collects the agents made (for the renewal phases).
 */
export function loginOperation(
  route: Route,
  proofs: IidProof[],
  keys: AgentKey[],
  expectStatus = 200,
  held?: HeldAgent[],
): Operation {
  return async (index) => {
    const client = route(index);
    const start = await client.call('POST', '/v1/agent/login', { providedMethods: ['aws_iid'] });
    if (start.status !== 200) return `start ${start.status} ${codeOf(start.body)}`;
    const { loginId } = JSON.parse(start.body) as { loginId: string };
    const done = await client.call('POST', `/v1/agent/login/${encodeURIComponent(loginId)}/complete`, {
      proofs: { aws_iid: proofs[index]! },
      csr: keys[index % keys.length]!.csrPem,
    });
    if (done.status !== expectStatus) return `complete ${done.status} ${codeOf(done.body)}`;
    if (held && done.status === 200)
      held.push({
        certChain: (JSON.parse(done.body) as { svid: { certChain: string } }).svid.certChain,
        key: index % keys.length,
      });
    return 'ok';
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
  const indented = pem
    .trim()
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
  return `section: AwsIidCertificates\nschema: v1\nspec:\n  replaceBuiltIn: true\n  certificates:\n    - regions: ["*"]\n      pem: |\n${indented}\n`;
}
