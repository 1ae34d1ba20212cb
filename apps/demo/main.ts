import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createLogger } from '@apps/server/logging/logger';
import { startServer } from '@apps/server/server';
import { loadSettings } from '@apps/server/settings/settings';
import { createIidSigner, startAwsSimulator, startImds, type RunningHttp } from '@libs/testing/aws-simulator';

/**
 * `npm run demo`: the AWS simulator and IMDS, attestd on its embedded
 * database, and the reference agent run as a real process for each case:
 * accepted aws_iid and aws_iam logins and refused ones, with their reasons.
 */
const SERVER_ACCOUNT = '111111111111';
const PARTNER_ACCOUNT = '222222222222';
const FOREIGN_ACCOUNT = '333333333333';
const run = promisify(execFile);

const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: ec2_fleet
      requiredAttestors:
        - type: aws_iid
          config: { awsAccountsAllowed: ["${PARTNER_ACCOUNT}"] }
      rules:
        - { attribute: aws_iid.ec2.instance.tag.env, in: [prod, staging] }
    - name: fargate_tasks
      requiredAttestors:
        - type: aws_iam
      rules:
        - { attribute: aws_iam.principal.type, equals: assumed-role }
`;

async function main(): Promise<void> {
  const sim = await startAwsSimulator({
    accounts: [{ id: SERVER_ACCOUNT }, { id: PARTNER_ACCOUNT }, { id: FOREIGN_ACCOUNT }],
    instances: [
      {
        accountId: SERVER_ACCOUNT,
        region: 'us-east-1',
        instanceId: 'i-0a1b2c3d4e5f60001',
        tags: { env: 'prod', Name: 'web-1' },
      },
      { accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId: 'i-0a1b2c3d4e5f60002', tags: { env: 'prod' } },
      { accountId: FOREIGN_ACCOUNT, region: 'us-east-1', instanceId: 'i-0a1b2c3d4e5f60003', tags: { env: 'prod' } },
    ],
    roles: [{ arn: `arn:aws:iam::${SERVER_ACCOUNT}:role/checkout-task`, trustedPrincipals: ['*'] }],
  });
  const signer = await createIidSigner();
  const imds = async (id: string): Promise<RunningHttp> =>
    startImds(sim.world.getInstance(id)!, signer, { world: sim.world });
  const [web1, web2, foreign] = await Promise.all([
    imds('i-0a1b2c3d4e5f60001'),
    imds('i-0a1b2c3d4e5f60002'),
    imds('i-0a1b2c3d4e5f60003'),
  ]);

  const home = mkdtempSync(join(tmpdir(), 'attestd-demo-'));
  mkdirSync(join(home, 'policies'));
  writeFileSync(join(home, 'policies', 'agents.yaml'), POLICIES);
  // The simulator's IMDS signs with a test key, as AWS signs with its own: trust it like an AWS certificate.
  writeFileSync(join(home, 'policies', 'iid-certificates.yaml'), certificatesSection(signer.certificatePem));
  Object.assign(process.env, sim.endpointEnv());
  const server = await startServer(
    loadSettings({
      ...sim.endpointEnv(),
      ATTESTD_LISTEN: '127.0.0.1:0',
      ATTESTD_DATA_DIR: home,
      ATTESTD_POLICIES_DIR: join(home, 'policies'),
      ATTESTD_ADMIN_TOKENS: randomBytes(24).toString('base64url'),
    }),
    createLogger('silent'),
  );
  const task = sim.world.issueSession(`arn:aws:iam::${SERVER_ACCOUNT}:role/checkout-task`, 'ecs-task-7f3a');

  const agent = async (title: string, args: string[], env: Record<string, string> = {}) => {
    const out = join(home, `agent-${randomBytes(4).toString('hex')}`);
    try {
      const { stdout } = await run(
        process.execPath,
        [join(__dirname, '..', 'agent', 'main.js'), 'login', '--server', server.url, '--out', out, ...args],
        {
          env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', ...env },
        },
      );
      report(title, 'accepted', stdout.trim());
    } catch (error) {
      report(title, 'refused', String((error as { stderr?: string }).stderr ?? error).trim());
    }
  };

  console.log(`attestd ${server.url} (trust domain example.org), AWS simulator ${sim.url}\n`);
  await agent("aws_iid: EC2 instance web-1 in the server's account", [
    '--attestor',
    'aws_iid',
    '--imds-endpoint',
    web1.url,
  ]);
  await agent('aws_iid: web-1 again (TOFU replay)', ['--attestor', 'aws_iid', '--imds-endpoint', web1.url]);
  await agent('aws_iid: an instance in an account no policy allows', [
    '--attestor',
    'aws_iid',
    '--imds-endpoint',
    foreign.url,
  ]);
  sim.world.stopInstance('i-0a1b2c3d4e5f60002');
  await agent('aws_iid: a stopped instance', ['--attestor', 'aws_iid', '--imds-endpoint', web2.url]);
  await agent('aws_iam: a Fargate task with an assumed role', ['--attestor', 'aws_iam'], {
    AWS_ACCESS_KEY_ID: task.accessKeyId,
    AWS_SECRET_ACCESS_KEY: task.secretAccessKey,
    AWS_SESSION_TOKEN: task.sessionToken,
  });
  console.log(
    `\nAWS calls the server made: ${sim.log.count({ service: 'ec2' })} EC2, ${sim.log.count({ service: 'sts' })} STS, ${sim.log.count({ service: 'iam' })} IAM`,
  );

  await server.close();
  await Promise.all([web1, web2, foreign].map((s) => s.close()));
  await sim.close();
  rmSync(home, { recursive: true, force: true });
}

function certificatesSection(pem: string): string {
  const indented = pem
    .trim()
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
  return `section: AwsIidCertificates\nschema: v1\nspec:\n  replaceBuiltIn: false\n  certificates:\n    - regions: ["*"]\n      pem: |\n${indented}\n`;
}

function report(title: string, outcome: 'accepted' | 'refused', text: string): void {
  console.log(`${outcome === 'accepted' ? '✔' : '✘'} ${title}\n    ${text.replace(/^attestd-agent: /, '')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
