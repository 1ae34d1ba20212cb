import { generateAgentKey, type AgentKey } from '@apps/agent/keys';
import { awsIamCollector } from '@apps/agent/proofs/aws-iam';
import { identityDocument } from '@libs/testing/aws-simulator';
import { SERVER_ACCOUNT } from '@libs/testing/aws-simulator/fixtures';
import { newJoinToken } from '../support/agent';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { fakeNodeAttestor } from '../support/fake-node-attestor';
import { startTestServer, type TestServer } from '../support/server';
import { until } from '@libs/testing/until';

const BLOG = 'i-0b22a22eec53b9321';
const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
    - name: blog_servers
      requiredAttestors: [{ type: aws_iid }]
    - name: tasks
      requiredAttestors: [{ type: aws_iam }]
      rules:
        - { attribute: aws_iam.principal.type, equals: assumed-role }
`;

/** What pino writes on every line besides the event's own fields. */
const PINO_FIELDS = ['level', 'time', 'pid', 'hostname', 'service', 'msg'];

/** The `operations.md` log table: message → level and fields (requestId comes on top for request events). */
const LOG_TABLE: Record<string, { level: number; fields: string[] }> = {
  'Login started with multi-attestation support': {
    level: 30,
    fields: ['loginId', 'providedMethods', 'candidatePolicies'],
  },
  'Authorization received and verified': {
    level: 30,
    fields: ['agentId', 'spiffeId', 'policy', 'agentAttestationAttributes'],
  },
  'Attestor rejected proof, policy failed': { level: 40, fields: ['attestor', 'reason', 'loginId'] },
  'no cluster policy authorizes the provided attestors': { level: 40, fields: ['providedMethods'] },
  'Node already attested (TOFU); possible security incident': { level: 40, fields: ['attestor', 'tofuKey', 'agentId'] },
};

/** The base64 body of a PEM, without its armour or line breaks. */
const pemBody = (pem: string) => pem.replace(/-----(BEGIN|END)[^-]+-----/g, '').replace(/\s+/g, '');

describe('logs of a full run: the table of operations.md, and never a secret', () => {
  let aws: AwsTestbed;
  let server: TestServer;
  /** every secret the run used, by what it is */
  const secrets: Record<string, string> = {};
  let startupLines = 0;

  beforeAll(async () => {
    aws = await startAwsTestbed();
    server = await startTestServer({
      policies: { 'agents.yaml': POLICIES, 'certificates.yaml': aws.certificatesSection },
      additionalAttestors: [fakeNodeAttestor],
    });
    // the first retention pass runs beside the start, not for a request: its lines are the start's
    await until(() => server.logs.some((line) => line.msg === 'retention: pass finished'));
    startupLines = server.logs.length;
    secrets['admin token'] = server.adminToken;
    secrets['viewer token'] = server.viewerToken;
    secrets['server AWS secret key'] = process.env.AWS_SECRET_ACCESS_KEY ?? '';

    /** One login, start to completion, remembering its login ID's MAC and the agent key. */
    const completeLogin = async (
      label: string,
      methods: string[],
      proofsFor: (challenges: Record<string, string>) => Promise<Record<string, unknown>>,
    ) => {
      const started = await server.call('POST', '/v1/agent/login', { body: { providedMethods: methods } });
      if (started.status !== 200) return started.status;
      const { loginId, challenges } = (await started.json()) as { loginId: string; challenges: Record<string, string> };
      secrets[`${label}: login ID`] = loginId;
      secrets[`${label}: login ID MAC`] = loginId.split('.')[1]!;
      for (const [type, challenge] of Object.entries(challenges)) secrets[`${label}: ${type} challenge`] = challenge;
      const key: AgentKey = await generateAgentKey();
      secrets[`${label}: CSR`] = pemBody(key.csrPem);
      secrets[`${label}: private key`] = pemBody(key.privateKeyPem);
      const completed = await server.call('POST', `/v1/agent/login/${loginId}/complete`, {
        body: { proofs: await proofsFor(challenges), csr: key.csrPem },
      });
      return completed.status;
    };

    // an admin makes a join token; a node logs in with it
    const { token } = await newJoinToken(server);
    secrets['join token'] = token;
    expect(await completeLogin('join token', ['join_token'], async () => ({ join_token: { token } }))).toBe(200);
    // the token again, and a wrong one
    expect(await completeLogin('reused join token', ['join_token'], async () => ({ join_token: { token } }))).toBe(401);
    secrets['wrong join token'] = 'wrong-join-token-Zm9vYmFyYmF6cXV4';
    expect(
      await completeLogin('wrong join token', ['join_token'], async () => ({
        join_token: { token: secrets['wrong join token'] },
      })),
    ).toBe(401);

    // aws_iam with a session's temporary credentials, signed as the agent signs
    const session = aws.sim.world.issueSession(`arn:aws:iam::${SERVER_ACCOUNT}:role/checkout`, 'ecs-task-1');
    secrets['session secret key'] = session.secretAccessKey;
    secrets['session token'] = session.sessionToken;
    const collector = awsIamCollector({
      awsRegion: 'us-east-1',
      awsCredentials: async () => ({
        accessKeyId: session.accessKeyId,
        secretAccessKey: session.secretAccessKey,
        sessionToken: session.sessionToken,
      }),
    });
    const iamStatus = await completeLogin('aws_iam', ['aws_iam'], async (challenges) => {
      const proof = (await collector.collect({ challenge: challenges.aws_iam! })) as {
        headers: Record<string, string>;
      };
      const authorization =
        Object.entries(proof.headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1] ?? '';
      secrets['SigV4 signature'] = /Signature=([0-9a-f]{64})/.exec(authorization)?.[1] ?? 'missing SigV4 signature';
      return { aws_iam: proof };
    });
    expect(iamStatus).toBe(200);

    // aws_iid with an identity document signed as AWS signs it, twice (the second is a TOFU conflict)
    const document = identityDocument(aws.sim.world.getInstance(BLOG)!);
    const signature = await aws.signer.sign(document);
    secrets['IID signature'] = pemBody(signature);
    expect(await completeLogin('aws_iid', ['aws_iid'], async () => ({ aws_iid: { document, signature } }))).toBe(200);
    expect(await completeLogin('aws_iid again', ['aws_iid'], async () => ({ aws_iid: { document, signature } }))).toBe(
      409,
    );

    // a start no policy admits (no policy requires the fake attestor alone)
    expect(await completeLogin('no policy', ['test_node'], async () => ({}))).toBe(403);

    // admin and viewer calls with their bearer tokens, and one with a wrong token
    expect((await server.admin('GET', '/v1/agents')).status).toBe(200);
    expect((await server.call('GET', '/v1/agents', { token: server.viewerToken })).status).toBe(200);
    secrets['wrong admin token'] = 'wrong-admin-token-cXV1eGNvcmdl';
    expect((await server.call('GET', '/v1/agents', { token: secrets['wrong admin token'] })).status).toBe(401);
  });

  afterAll(async () => {
    await server?.stop();
    await aws?.close();
  });

  it('captured the run', () => {
    expect(server.logs.length).toBeGreaterThan(startupLines + 10);
    expect(Object.values(secrets).filter((secret) => secret.length < 8)).toEqual([]);
  });

  it('never logs a token, signature, key, challenge or login ID MAC the run used', () => {
    const text = server.logs.map((line) => JSON.stringify(line));
    // each secret whole, and each 64-character line of the base64 ones that travel wrapped (PEM
    // bodies, the IID signature), so a key logged with its line breaks or in part is found too
    const wrapped = (what: string) => /: CSR$|: private key$|^IID signature$/.test(what);
    const needles = Object.entries(secrets).flatMap(([what, secret]) => [
      { what, needle: secret },
      ...(wrapped(what)
        ? (secret.match(/.{64}/g) ?? []).map((chunk) => ({ what: `${what} (a line)`, needle: chunk }))
        : []),
    ]);
    expect(needles.filter(({ what }) => what.endsWith('(a line)')).length).toBeGreaterThan(0);
    const found = needles.flatMap(({ what, needle }) => (text.some((line) => line.includes(needle)) ? [what] : []));
    expect([...new Set(found)]).toEqual([]);
  });

  it('logs each message of the table at its level with exactly its fields and the request ID', () => {
    const events = server.logs.slice(startupLines);
    for (const [msg, { level, fields }] of Object.entries(LOG_TABLE)) {
      const lines = events.filter((line) => line.msg === msg);
      expect({ msg, logged: lines.length > 0 }).toEqual({ msg, logged: true });
      for (const line of lines) {
        const own = Object.keys(line).filter((key) => !PINO_FIELDS.includes(key));
        expect({ msg, level: line.level, fields: own.sort() }).toEqual({
          msg,
          level,
          fields: [...fields, 'requestId'].sort(),
        });
        expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
      }
    }
    const authorized = events.filter((line) => line.msg === 'Authorization received and verified');
    expect(authorized.flatMap((line) => line.agentAttestationAttributes as string[])).toContain(
      `aws_iid:aws_iid.account.id="${SERVER_ACCOUNT}"`,
    );
    expect(
      events.find((line) => line.msg === 'Node already attested (TOFU); possible security incident'),
    ).toMatchObject({
      attestor: 'aws_iid',
      tofuKey: `aws_iid/${SERVER_ACCOUNT}/us-east-1/${BLOG}`,
    });
  });

  it('logs the configuration the server started with', () => {
    const activated = server.logs.slice(0, startupLines).filter((line) => line.msg === 'Configuration activated');
    expect(activated.map((line) => line.section).sort()).toEqual(['AgentAttestation', 'AwsIidCertificates']);
    for (const line of activated) {
      expect(
        Object.keys(line)
          .filter((key) => !PINO_FIELDS.includes(key))
          .sort(),
      ).toEqual(['section', 'sha256', 'version']);
    }
  });

  it('carries the request ID on every line a request logged', () => {
    const withoutId = server.logs.slice(startupLines).filter((line) => typeof line.requestId !== 'string');
    expect(withoutId).toEqual([]);
  });
});
