import { createHash, randomBytes, randomUUID, type webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { CompactSign } from 'jose';
import { generateAgentKey, type AgentKey } from '@apps/agent/keys';
import { readTlv, type Tlv } from '@libs/attestors/aws-iid/ber';
import { identityDocument } from '@libs/testing/aws-simulator';
import { onProcessCpu } from '@libs/testing/thread-cpu';
import { presignedGetCallerIdentity, SERVER_ACCOUNT } from '@libs/testing/aws-simulator/fixtures';
import { login, newJoinToken } from '../support/agent';
import { spellPath } from '../support/paths';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { startTestServer, type TestServer } from '../support/server';

// HTTP-level fuzzing of every endpoint body and list query (operations.md,
// "Bad input"): each hostile input gets a 4xx problem document with the code
// the endpoint may answer, never a 500 and never a success. Inputs are
// mutations of valid requests (bit flips, cuts, wrong DER lengths, swapped
// JWS segments, hostile numbers, unicode, deep nesting) as well as noise.
// The costliest input of each property must answer within ROBUSTNESS_BOUND_MS
// of CPU (the server runs in this process: its event loop and its worker
// threads are counted, and a loaded machine does not stretch CPU time as it
// does wall time): a bound on pathological input (a hang, quadratic or
// exponential work), not a benchmark.

const ROBUSTNESS_BOUND_MS = 2_000;
const BLOG = 'i-0b22a22eec53b9321';
const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
    - name: ec2
      requiredAttestors: [{ type: aws_iid }]
    - name: tasks
      requiredAttestors: [{ type: aws_iam }]
`;

/** Numbers, strings and shapes that break naive parsers. */
const hostileScalar = fc.oneof(
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -(2 ** 63), 0.1, -0, 4294967296, 1e-320),
  fc.constantFrom(
    '\u0000',
    '\ud800',
    '\u202e',
    'ﬀ',
    '🦄'.repeat(50),
    '%00',
    '../..',
    '__proto__',
    'constructor',
    'x'.repeat(5000),
  ),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const hostileJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  hostileScalar,
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'), hostileScalar),
);

/** JSON text no JSON.stringify produces: deep nesting, out-of-range numbers, prototype keys, broken escapes. */
const hostileJsonText = fc.oneof(
  fc.integer({ min: 100, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 100, max: 5_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.constantFrom(
    '1e999999',
    '-1e999999',
    '123456789012345678901234567890',
    '{"__proto__":{"polluted":true}}',
    '"\\ud800"',
    '"\\u00"',
    '{"a":1,"a":2}',
    '\ufeff{}',
    '',
    ' ',
    'null',
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** Records the costliest call of a property, in CPU time. */
class Slowest {
  ms = 0;
  async time<T>(call: () => Promise<T>): Promise<T> {
    const { value, cpuMs } = await onProcessCpu(call);
    this.ms = Math.max(this.ms, cpuMs);
    return value;
  }
}

async function fuzz<T>(
  arbitrary: fc.Arbitrary<T>,
  check: (value: T, slowest: Slowest) => Promise<void>,
  numRuns: number,
): Promise<void> {
  const slowest = new Slowest();
  await fc.assert(
    fc.asyncProperty(arbitrary, (value) => check(value, slowest)),
    { numRuns },
  );
  expect(slowest.ms).toBeLessThan(ROBUSTNESS_BOUND_MS);
}

/** A 4xx problem document whose code is one the endpoint may answer with. */
async function expectProblem(response: Response, codes: string[]): Promise<void> {
  const text = await response.text();
  if (response.status < 400 || response.status >= 500)
    throw new Error(`expected a 4xx problem, got ${response.status}: ${text.slice(0, 300)}`);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const problem = JSON.parse(text) as { status: number; code: string };
  if (!codes.includes(problem.code))
    throw new Error(`unexpected code ${problem.code} (${response.status}): ${text.slice(0, 300)}`);
  expect(problem.status).toBe(response.status);
}

/** Every TLV of a BER buffer, depth first, for mutations that hit tags and lengths exactly. */
function allTlvs(buf: Buffer, offset = 0, limit = buf.length, depth = 0, found: Tlv[] = []): Tlv[] {
  const tlv = readTlv(buf, offset, limit, depth);
  found.push(tlv);
  if (tlv.tag & 0x20) {
    for (
      let child = tlv.contentStart;
      child < tlv.contentEnd;
      child = readTlv(buf, child, tlv.contentEnd, depth + 1).end
    )
      allTlvs(buf, child, tlv.contentEnd, depth + 1, found);
  }
  return found;
}

/** Ways to break a BER/DER signature while keeping most of its structure. */
function berMutations(der: Buffer): fc.Arbitrary<Buffer> {
  const tlvs = allTlvs(der);
  const replaceAt = (at: number, bytes: readonly number[]) =>
    Buffer.concat([der.subarray(0, at), Buffer.from(bytes), der.subarray(at + 1)]);
  return fc.oneof(
    fc.tuple(fc.nat({ max: der.length - 1 }), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => {
      const copy = Buffer.from(der);
      copy[at]! ^= 1 << bit; // at < der.length
      return copy;
    }),
    fc.nat({ max: der.length - 1 }).map((n) => der.subarray(0, n)),
    // a wrong length on an element: indefinite on a primitive, too long, too many length octets, zero, huge
    fc
      .tuple(
        fc.constantFrom(...tlvs),
        fc.constantFrom(
          [0x80],
          [0x84, 0xff, 0xff, 0xff, 0xff],
          [0x85, 1, 0, 0, 0, 0],
          [0x00],
          [0x7f],
          [0xff],
          [0x81, 0x01],
          [0x82, 0xff, 0xff],
        ),
      )
      .map(([tlv, bytes]) => replaceAt(tlv.start + 1, bytes)),
    // a tag changed to another universal or high-tag-number tag
    fc
      .tuple(fc.constantFrom(...tlvs), fc.constantFrom(0x00, 0x1f, 0x02, 0x04, 0x24, 0x30, 0x31, 0xa0, 0xff))
      .map(([tlv, tag]) => replaceAt(tlv.start, [tag])),
    // the whole thing wrapped in deep indefinite-length nesting
    fc
      .integer({ min: 1, max: 400 })
      .map((depth) =>
        Buffer.concat([Buffer.alloc(depth * 2, Buffer.from([0x30, 0x80])), der, Buffer.alloc(depth * 2)]),
      ),
    fc.uint8Array({ maxLength: 3000 }).map((bytes) => Buffer.from(bytes)),
  );
}

describe('fuzzing every endpoint body', () => {
  let aws: AwsTestbed;
  let server: TestServer;
  let agentKey: AgentKey;
  beforeAll(async () => {
    aws = await startAwsTestbed();
    server = await startTestServer({
      policies: { 'agents.yaml': POLICIES, 'certificates.yaml': aws.certificatesSection },
    });
    agentKey = await generateAgentKey();
  });
  afterAll(async () => {
    await server?.stop();
    await aws?.close();
  });

  const complete = async (methods: string[], proofs: unknown, csr: unknown = agentKey.csrPem): Promise<Response> => {
    const started = await server.call('POST', '/v1/agent/login', { body: { providedMethods: methods } });
    expect(started.status).toBe(200);
    const { loginId } = (await started.json()) as { loginId: string };
    return server.call('POST', `/v1/agent/login/${loginId}/complete`, {
      body: JSON.stringify({ proofs, csr }),
      headers: { 'content-type': 'application/json' },
    });
  };

  const json = (path: string, text: string, token?: string) =>
    server.call('POST', path, { body: text, headers: { 'content-type': 'application/json' }, ...(token && { token }) });

  describe('agent API', () => {
    it('login start: hostile JSON text and hostile providedMethods are a 400 (or 403 for unknown methods)', async () => {
      const methods = fc.oneof(
        hostileJson,
        fc.array(hostileScalar, { maxLength: 5 }),
        fc.array(fc.constantFrom('join_token', 'aws_iid', 'aws_iam', ''), { minLength: 40, maxLength: 200 }),
      );
      const body = fc.oneof(
        hostileJsonText,
        methods.map((m) => JSON.stringify({ providedMethods: m, extra: 1 })),
        methods.map((m) => JSON.stringify({ providedMethods: m })),
      );
      await fuzz(
        body.filter(
          (text) =>
            !/^\{"providedMethods":\["(join_token|aws_iid|aws_iam)"(,"(join_token|aws_iid|aws_iam)")*\]\}$/.test(text),
        ),
        async (text, slowest) => {
          await expectProblem(await slowest.time(() => json('/v1/agent/login', text)), [
            'invalid_request',
            'no_policy_for_methods',
            'payload_too_large',
          ]);
        },
        60,
      );
    });

    it('login complete: hostile JSON text is a 400', async () => {
      await fuzz(
        hostileJsonText,
        async (text, slowest) => {
          // a fresh login each time: a body that parses but is refused still uses its login ID up
          const started = (await (
            await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['join_token'] } })
          ).json()) as { loginId: string };
          await expectProblem(await slowest.time(() => json(`/v1/agent/login/${started.loginId}/complete`, text)), [
            'invalid_request',
            'payload_too_large',
          ]);
        },
        40,
      );
    });

    it('login complete: a mutated aws_iid signature or document is a 401 (or 400)', async () => {
      const document = identityDocument(aws.sim.world.getInstance(BLOG)!);
      const signature = await aws.signer.sign(document);
      const der = Buffer.from(signature.replace(/\s/g, ''), 'base64');
      const mutatedDocument = fc.oneof(
        fc
          .tuple(fc.nat({ max: document.length - 1 }), hostileScalar.map(String))
          .map(([at, text]) => document.slice(0, at) + text + document.slice(at + 1)),
        fc.nat({ max: document.length - 1 }).map((n) => document.slice(0, n)),
        fc
          .constantFrom('"accountId" : "111111111111"', '"pendingTime" : "2026-01-01T00:00:00Z"')
          .chain((field) =>
            fc
              .constantFrom(
                '1e999',
                '-0',
                '123456789012345678901234567890',
                '[[[[[[[[[[]]]]]]]]]]',
                '{"__proto__":{}}',
                '"\\ud800"',
              )
              .map((value) => document.replace(field, `${field.split(' : ')[0]} : ${value}`)),
          ),
      );
      const proof = fc.oneof(
        berMutations(der)
          .filter((bytes) => !bytes.equals(der))
          .map((bytes) => ({ document, signature: bytes.toString('base64') })),
        mutatedDocument.filter((text) => text !== document).map((text) => ({ document: text, signature })),
        fc
          .record(
            {
              document: fc.oneof(fc.constant(document), hostileJson),
              signature: fc.oneof(fc.constant(signature), hostileJson),
            },
            { requiredKeys: [] },
          )
          .filter((p) => !(p.document === document && p.signature === signature)),
        fc.constant({ document, signature: signature.replace(/[A-Za-z0-9+/]{4}\n/, '!!!!\n') }),
      );
      // The instance attests once; a mutation that only touches unsigned bytes (the embedded certificate bag, as
      // AWS's own verification ignores it) still verifies, and can then only meet TOFU's 409, never a success.
      expect((await complete(['aws_iid'], { aws_iid: { document, signature } })).status).toBe(200);
      await fuzz(
        proof,
        async (aws_iid, slowest) => {
          await expectProblem(await slowest.time(() => complete(['aws_iid'], { aws_iid })), [
            'invalid_request',
            'attestation_failed',
            'node_already_attested',
          ]);
        },
        120,
      );
    });

    it('login complete: a signed aws_iam request changed in any signed part is a 401 (or 400)', async () => {
      const session = aws.sim.world.issueSession(`arn:aws:iam::${SERVER_ACCOUNT}:role/checkout`, 'fuzz');
      const credentials = {
        accessKeyId: session.accessKeyId,
        secretAccessKey: session.secretAccessKey,
        sessionToken: session.sessionToken,
      };
      const signedProof = async () => {
        const started = await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['aws_iam'] } });
        const { loginId, challenges } = (await started.json()) as { loginId: string; challenges: { aws_iam: string } };
        const signed = await presignedGetCallerIdentity(credentials, challenges.aws_iam);
        return {
          loginId,
          proof: {
            method: signed.method,
            url: 'https://sts.us-east-1.amazonaws.com/',
            headers: { ...signed.headers },
            body: signed.body,
          },
        };
      };
      const send = (loginId: string, proof: unknown) =>
        server.call('POST', `/v1/agent/login/${loginId}/complete`, {
          body: { proofs: { aws_iam: proof }, csr: agentKey.csrPem },
        });
      const unchanged = await signedProof();
      expect((await send(unchanged.loginId, unchanged.proof)).status).toBe(200); // so a mutation that still verified would show as a success
      const signedPart = fc.constantFrom(
        'authorization',
        'x-amz-date',
        'x-attestd-challenge',
        'host',
        'content-type',
        'body',
        'method',
        'url',
        'drop',
      );
      await fuzz(
        fc.tuple(signedPart, hostileScalar.map(String), fc.nat()),
        async ([part, value, n], slowest) => {
          const { loginId, proof } = await signedProof();
          const names = Object.keys(proof.headers);
          if (part === 'body') proof.body = `${proof.body}${value}x`;
          else if (part === 'method') proof.method = `POST${value}x`;
          else if (part === 'url') proof.url = `https://sts.us-east-1.amazonaws.com/${value}x`;
          else if (part === 'drop') {
            // not Host: the URL carries it, and the server sends the host the URL names
            const droppable = names.filter((h) => h.toLowerCase() !== 'host');
            delete proof.headers[droppable[n % droppable.length]!];
          } else {
            const name = names.find((h) => h.toLowerCase() === part)!;
            const old = proof.headers[name]!;
            // changed, never equal: a character of the value flipped, or the hostile text appended
            proof.headers[name] = n % 2 ? `${old}${value}x` : old.slice(0, -1) + (old.endsWith('a') ? 'b' : 'a');
          }
          const response = await slowest.time(() => send(loginId, proof));
          await expectProblem(response, ['invalid_request', 'attestation_failed']);
        },
        40,
      );
    });

    it('login complete: hostile CSRs are a 400', async () => {
      const { token } = await newJoinToken(server, 3600);
      const der = Buffer.from(agentKey.csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      const pem = (bytes: Buffer) =>
        `-----BEGIN CERTIFICATE REQUEST-----\n${bytes.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
      const csr = fc.oneof(
        berMutations(der)
          .filter((bytes) => !bytes.equals(der))
          .map(pem),
        fc.nat({ max: agentKey.csrPem.length - 2 }).map((n) => agentKey.csrPem.slice(0, n)),
        hostileJson,
      );
      await fuzz(
        csr,
        async (value, slowest) => {
          await expectProblem(await slowest.time(() => complete(['join_token'], { join_token: { token } }, value)), [
            'invalid_request',
            'payload_too_large',
          ]);
        },
        60,
      );
      expect((await login(server, { join_token: { token } })).status).toBe(200); // the failed attempts did not use the token up
    });
  });

  describe('renewal and JWT-SVIDs', () => {
    let held: { certChain: string; key: AgentKey };
    beforeAll(async () => {
      const { token } = await newJoinToken(server);
      const key = await generateAgentKey();
      const response = await login(server, { join_token: { token } }, key.csrPem);
      expect(response.status).toBe(200);
      held = { certChain: ((await response.json()) as { svid: { certChain: string } }).svid.certChain, key };
    });

    const sign = (key: webcrypto.CryptoKey, payload: string, header: Record<string, unknown> = { alg: 'ES256' }) =>
      new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader(header as { alg: string }).sign(key);
    const csrHash = (pem: string) =>
      createHash('sha256')
        .update(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'))
        .digest('base64url');

    /** iat values never within 60 s of now, so no payload below is a valid proof. */
    const hostileIat = fc.oneof(
      fc.constantFrom(1e308, -1, 0, 2 ** 53 + 1, 1.5, -(2 ** 63), '1700000000', null, [], {}, true),
      fc.integer({ min: 4_000_000_000, max: Number.MAX_SAFE_INTEGER }),
    );

    /** A PoP JWS broken while keeping its shape: swapped segments, a flipped character, a hostile header, or hostile claims signed by the right key. */
    async function hostilePops(aud: string, csr?: string): Promise<fc.Arbitrary<Promise<string>>> {
      const claims = {
        aud,
        iat: Math.floor(Date.now() / 1000),
        jti: randomBytes(16).toString('base64url'),
        ...(csr && { csr_sha256: csrHash(csr) }),
      };
      const valid = await sign(held.key.keyPair.privateKey, JSON.stringify(claims));
      const parts = valid.split('.');
      const b64 = (value: unknown) =>
        Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
      return fc.oneof(
        fc
          .constantFrom([1, 0, 2], [0, 2, 1], [2, 1, 0], [2, 0, 1], [1, 2, 0])
          .map(async (order) => order.map((i) => parts[i]).join('.')),
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat()).map(async ([segment, at]) => {
          const copy = [...parts];
          const text = copy[segment]!;
          const i = at % text.length;
          copy[segment] = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
          return copy.join('.');
        }),
        fc
          .oneof(
            fc.constantFrom(
              { alg: 'none' },
              { alg: 'HS256' },
              { alg: 'RS256' },
              { alg: 'ES256', crit: ['x'] },
              { alg: 'ES256', b64: false },
            ),
            hostileJson,
          )
          .map(async (header) => [b64(header), parts[1], parts[2]].join('.')),
        fc
          .record(
            {
              aud: fc.oneof(fc.constant(aud), hostileJson),
              iat: hostileIat,
              jti: fc.oneof(fc.string(), hostileJson),
              csr_sha256: hostileJson,
            },
            { requiredKeys: ['iat'] },
          )
          .map((payload) => sign(held.key.keyPair.privateKey, JSON.stringify(payload))),
        fc.oneof(hostileJsonText, fc.constant('')).map((payload) => sign(held.key.keyPair.privateKey, payload)),
        fc
          .constantFrom(
            `${valid}.`,
            `${valid}.x.y`,
            `..`,
            `${parts[0]}..${parts[2]}`,
            `${parts[0]}.${'A'.repeat(40_000)}.${parts[2]}`,
          )
          .map(async (s) => s),
      );
    }

    it('renew: hostile proofs of possession and chains are a 401 (or 400)', async () => {
      const next = await generateAgentKey();
      const pops = await hostilePops('attestd-renew', next.csrPem);
      const validPop = await sign(
        held.key.keyPair.privateKey,
        JSON.stringify({
          aud: 'attestd-renew',
          iat: Math.floor(Date.now() / 1000),
          jti: randomUUID(),
          csr_sha256: csrHash(next.csrPem),
        }),
      );
      const chainDer = Buffer.from(
        held.certChain
          .split('-----END')[0]!
          .replace(/-----[^-]+-----/g, '')
          .replace(/\s+/g, ''),
        'base64',
      );
      const chains = berMutations(chainDer)
        .filter((bytes) => !bytes.equals(chainDer))
        .map(
          (bytes) =>
            `-----BEGIN CERTIFICATE-----\n${bytes.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`,
        );
      const body = fc.oneof(
        pops.map(async (pop) => ({ certChain: held.certChain, csr: next.csrPem, pop: await pop })),
        chains.map(async (certChain) => ({ certChain, csr: next.csrPem, pop: validPop })),
      );
      await fuzz(
        body,
        async (made, slowest) => {
          const value = await made;
          await expectProblem(await slowest.time(() => server.call('POST', '/v1/agent/renew', { body: value })), [
            'invalid_request',
            'invalid_proof_of_possession',
          ]);
        },
        100,
      );
    });

    it('jwt-svid: hostile proofs of possession and audiences are a 401 (or 400)', async () => {
      const pops = await hostilePops('attestd-jwt-svid');
      const validPop = () =>
        sign(
          held.key.keyPair.privateKey,
          JSON.stringify({ aud: 'attestd-jwt-svid', iat: Math.floor(Date.now() / 1000), jti: randomUUID() }),
        );
      const badAudience = fc.oneof(
        fc.constant([]),
        fc.array(fc.constant('a'), { minLength: 200, maxLength: 300 }),
        fc.array(fc.constantFrom('', 'x'.repeat(5000)), { minLength: 1, maxLength: 2 }),
        hostileScalar,
        fc.array(fc.oneof(fc.integer(), fc.constant(null)), { minLength: 1 }),
      );
      const body = fc.oneof(
        pops.map(async (pop) => ({ certChain: held.certChain, pop: await pop, audience: ['sts.amazonaws.com'] })),
        badAudience.map(async (audience) => ({ certChain: held.certChain, pop: await validPop(), audience })),
      );
      await fuzz(
        body,
        async (made, slowest) => {
          const value = await made;
          await expectProblem(await slowest.time(() => server.call('POST', '/v1/agent/jwt-svid', { body: value })), [
            'invalid_request',
            'invalid_proof_of_possession',
          ]);
        },
        80,
      );
    });
  });

  describe('admin API', () => {
    const valid = `section: AgentAttestation\nschema: v1\nspec:\n  policies:\n    - name: lab\n      requiredAttestors: [{ type: join_token }]\n`;
    /** YAML that stresses the parser; always under an unknown key or without a section, so never a valid document. */
    const hostileYaml = fc.oneof(
      fc.integer({ min: 2, max: 12 }).map((levels) => {
        const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]'];
        for (let i = 1; i <= levels; i++)
          lines.push(
            `a${i}: &a${i} [${Array(9)
              .fill(`*a${i - 1}`)
              .join(',')}]`,
          );
        return `${valid}bomb:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
      }),
      fc.integer({ min: 10, max: 3_000 }).map((depth) => `${valid}deep: ${'['.repeat(depth)}${']'.repeat(depth)}\n`),
      fc
        .integer({ min: 10, max: 400 })
        .map(
          (depth) =>
            `${valid}deep:\n${Array.from({ length: depth }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`,
        ),
      fc.constantFrom(
        `${valid}huge: 123456789012345678901234567890123456789\n`,
        `${valid}inf: .inf\n`,
        `${valid}bin: !!binary aGVsbG8=\n`,
        `${valid}fn: !!js/function "function(){}"\n`,
        `${valid}set: !!set {a, b}\n`,
        `${valid}<<: {section: KubernetesClusters}\n`,
        `%YAML 9.9\n---\n${valid}`,
        `${valid}---\n${valid}`,
        `${valid}\u0000\n`,
        `\ufeff${valid}x: "\\ud800"\n`,
        `${valid}${'k: v\n'.repeat(3)}`,
        `section: AgentAttestation\nschema: v1\nspec: *missing\n`,
      ),
      fc
        .tuple(fc.nat({ max: valid.length - 1 }), fc.string({ unit: 'binary', maxLength: 30 }))
        .map(([at, text]) => `${valid.slice(0, at)}${text}${valid.slice(at)}\nzz: 1\n`),
      // wide maps: yaml's duplicate-key check was quadratic (59 s of CPU for the first)
      fc.constant(
        `section: AgentAttestation\nschema: v1\nspec:\n${Array.from({ length: 40_000 }, (_, i) => `  k${i}: 1\n`).join('')}`,
      ),
      fc
        .tuple(fc.integer({ min: 1_000, max: 8_000 }), fc.boolean())
        .map(([keys, flow]) =>
          flow
            ? `${valid}wide: {${Array.from({ length: keys }, (_, i) => `k${i}: 1`).join(', ')}}\n`
            : `${valid}wide:\n${Array.from({ length: keys }, (_, i) => `  k${i % 50}: 1`).join('\n')}\n`,
        ),
      // more nodes than the cap, in the fewest bytes
      fc.integer({ min: 100_000, max: 400_000 }).map((items) => `${valid}many: [${'1,'.repeat(items)}1]\n`),
      // a valid document but for text PostgreSQL cannot store (PUT answered 500 while validate said valid)
      fc
        .constantFrom('\\0', '\\x00', '\\u0000', '\\ud800', '\\udfff')
        .map((escape) => `${valid}      rules: [{ attribute: join_token.id, equals: "a${escape}b" }]\n`),
    );

    beforeAll(async () => {
      // the document worker thread starts on first use: not a cost of the first hostile input
      expect(
        (
          await server.call('POST', '/v1/config/AgentAttestation/validate', {
            token: server.adminToken,
            body: valid,
            headers: { 'content-type': 'application/yaml' },
          })
        ).status,
      ).toBe(200);
    });

    it('PUT and validate config: hostile YAML and JSON are a 422 (or 400, 413), and nothing is stored', async () => {
      const before = (
        (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as { items: unknown[] }
      ).items.length;
      const request = fc.tuple(
        fc.constantFrom('PUT', 'validate'),
        fc.oneof(
          hostileYaml.map((text) => ({ text, type: 'application/yaml' })),
          hostileJsonText.map((text) => ({ text, type: 'application/json' })),
        ),
      );
      await fuzz(
        request,
        async ([how, { text, type }], slowest) => {
          const path = how === 'PUT' ? '/v1/config/AgentAttestation' : '/v1/config/AgentAttestation/validate';
          const response = await slowest.time(() =>
            server.call(how === 'PUT' ? 'PUT' : 'POST', path, {
              token: server.adminToken,
              body: text,
              headers: { 'content-type': type },
            }),
          );
          await expectProblem(response, ['invalid_config', 'invalid_request', 'payload_too_large']);
        },
        80,
      );
      const after = (
        (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as { items: unknown[] }
      ).items.length;
      expect(after).toBe(before);
    });

    it('rollback, join tokens: hostile bodies are a 400 (rollback to a version that never was: 404)', async () => {
      const notAVersion = fc.oneof(
        hostileScalar,
        fc.integer({ min: 1_000, max: 2 ** 31 - 1 }),
        fc.constantFrom(2 ** 31, 2 ** 53, 1e308),
        fc.constantFrom(0, -1, 1.5, '1', null, [1], { version: 1 }),
      );
      const notATtl = fc.oneof(
        hostileScalar,
        fc.constantFrom(59, 30 * 24 * 3600 + 1, 2 ** 53 + 1, 1e308, -1, 60.5, '600', null, [600]),
      );
      const request = fc.oneof(
        notAVersion.map((version) => ({
          path: '/v1/config/AgentAttestation/rollback',
          text: JSON.stringify({ version }),
        })),
        notATtl.map((ttlSeconds) => ({ path: '/v1/join-tokens', text: JSON.stringify({ ttlSeconds }) })),
        fc
          .constantFrom('/v1/config/AgentAttestation/rollback', '/v1/join-tokens')
          .chain((path) =>
            fc
              .oneof(
                hostileJsonText,
                hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
              )
              .map((text) => ({ path, text })),
          )
          .filter(({ path, text }) => !(path === '/v1/join-tokens' && ['{}', 'null', '\ufeff{}'].includes(text))), // no body: the default TTL
      );
      await fuzz(
        request,
        async ({ path, text }, slowest) => {
          await expectProblem(await slowest.time(() => json(path, text, server.adminToken)), [
            'invalid_request',
            'not_found',
            'payload_too_large',
          ]);
        },
        80,
      );
    });

    it('agent actions: any id that names no agent is a 404 (or 400)', async () => {
      const id = fc
        .oneof(fc.uuid(), hostileScalar.map(String), fc.string({ minLength: 1, maxLength: 300 }))
        .filter((s) => s.length > 0 && !/\p{Surrogate}/u.test(s));
      await fuzz(
        fc.tuple(id, fc.constantFrom('evict', 'ban', 'unban', '')),
        async ([agentId, action], slowest) => {
          const path = `/v1/agents/${encodeURIComponent(agentId)}${action ? `/${action}` : ''}`;
          const response = await slowest.time(() =>
            server.call(action ? 'POST' : 'GET', path, { token: server.adminToken }),
          );
          await expectProblem(response, ['not_found', 'invalid_request']);
        },
        80,
      );
    });

    it('list queries: invalid or repeated parameters are a 400', async () => {
      const b64 = (s: string) => Buffer.from(s).toString('base64url');
      const bad: Record<string, fc.Arbitrary<string>> = {
        status: fc.string().filter((s) => !['active', 'evicted', 'banned'].includes(s)),
        outcome: fc.string().filter((s) => !['success', 'failure'].includes(s)),
        attestor: fc.oneof(
          fc.constantFrom('', 'A', '1x', 'a'.repeat(33), 'a-b', 'a b'),
          fc.string({ unit: 'grapheme', minLength: 1 }).filter((s) => !/^[a-z][a-z0-9_]{0,31}$/.test(s)),
        ),
        limit: fc.oneof(
          fc.constantFrom('0', '501', '-1', '1.5', '1e2', '99999999999999999999', '', ' 1', '0x10'),
          fc.string().filter((s) => !/^[0-9]{1,4}$/.test(s)),
        ),
        cursor: fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ unit: 'binary' }).map(b64),
          fc.constant(b64('x'.repeat(500))),
        ),
        since: fc.oneof(
          fc.string(),
          fc.constantFrom('2026-13-45T00:00:00Z', '2026-01-01', '9999-99-99T', '0000-00-00T00:00:00Z'),
        ),
        until: fc.constantFrom('yesterday', '2026-02-30Tx', '1e10'),
        agentId: fc.oneof(
          fc.string(),
          fc.uuid().map((u) => u.toUpperCase() + 'x'),
        ),
      };
      const query = fc.oneof(
        fc
          .constantFrom('status', 'attestor', 'cursor', 'limit')
          .chain((name) =>
            bad[name]!.map((value) => ({ path: '/v1/agents', query: `${name}=${encodeURIComponent(value)}` })),
          ),
        fc
          .constantFrom(...Object.keys(bad).filter((n) => n !== 'status'))
          .chain((name) =>
            bad[name]!.map((value) => ({ path: '/v1/audit', query: `${name}=${encodeURIComponent(value)}` })),
          ),
        // the same parameter twice reaches the controller as an array
        fc.oneof(
          fc
            .constantFrom('limit=10', 'attestor=join_token', 'status=active')
            .map((pair) => ({ path: '/v1/agents', query: `${pair}&${pair}` })),
          fc
            .constantFrom(
              'limit=10',
              'attestor=join_token',
              'cursor=MQ',
              `agentId=${randomUUID()}`,
              'since=2026-01-01T00:00:00Z',
              'outcome=success',
            )
            .map((pair) => ({ path: '/v1/audit', query: `${pair}&${pair}` })),
        ),
        fc.constantFrom('limit=%ff', 'cursor=%00', 'since=%zz').map((query) => ({ path: '/v1/audit', query })),
      );
      await fuzz(
        query,
        async ({ path, query: q }, slowest) => {
          const response = await slowest.time(() => server.call('GET', `${path}?${q}`, { token: server.adminToken }));
          await expectProblem(response, ['invalid_request']);
        },
        120,
      );
    });

    it('list queries: values at the edge of valid answer 200 or 400, never a 500', async () => {
      const b64 = (s: string) => Buffer.from(s).toString('base64url');
      const edge = fc.oneof(
        fc.stringMatching(/^[0-9]{1,19}$/).map((digits) => ({ path: '/v1/audit', query: `cursor=${b64(digits)}` })),
        fc
          .constantFrom('9999999999999999999', '9223372036854775807', '9223372036854775808', '0000000000000000000')
          .map((digits) => ({ path: '/v1/audit', query: `cursor=${b64(digits)}` })),
        fc
          .constantFrom(
            '0000-01-01T00:00:00Z',
            '9999-12-31T23:59:59.999Z',
            '1970-01-01T00:00:00+14:00',
            '2026-01-01T00:00:00.123456789Z',
            '0001-01-01T00:00:00Z',
          )
          .chain((t) =>
            fc
              .constantFrom('since', 'until')
              .map((name) => ({ path: '/v1/audit', query: `${name}=${encodeURIComponent(t)}` })),
          ),
        fc.uuid().map((id) => ({ path: '/v1/agents', query: `cursor=${b64(id)}` })),
        fc.constantFrom('1', '500', '0500').map((limit) => ({ path: '/v1/agents', query: `limit=${limit}` })),
      );
      await fuzz(
        edge,
        async ({ path, query }, slowest) => {
          const response = await slowest.time(() =>
            server.call('GET', `${path}?${query}`, { token: server.adminToken }),
          );
          if (response.status !== 200) await expectProblem(response, ['invalid_request']);
        },
        60,
      );
    });
  });
});

describe('fuzzing request paths', () => {
  const BURST = 2;
  let server: TestServer;
  beforeAll(async () => {
    // a window of 2,000 s, and each case its own client address through the trusted X-Forwarded-For
    server = await startTestServer({
      env: {
        ATTESTD_TRUSTED_PROXIES: '127.0.0.1',
        ATTESTD_RATE_LIMIT_AGENT_BURST: String(BURST),
        ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '0.001',
      },
    });
  });
  afterAll(() => server?.stop());

  it('any percent-escaped spelling of an Agent API route draws on the same per-source allowance', async () => {
    const routes = server.server.routes.filter((r) => r.url.startsWith('/v1/agent/') && r.method === 'POST');
    const spelling = fc.record({
      mask: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
      lowerHex: fc.boolean(),
    });
    let source = 0;
    await fuzz(
      fc.tuple(fc.constantFrom(...routes), fc.array(spelling, { minLength: BURST + 1, maxLength: BURST + 1 })),
      async ([route, spelt], slowest) => {
        const headers = { 'x-forwarded-for': `10.${Math.floor(++source / 250)}.${source % 250}.1` };
        const paths = spelt.map(({ mask, lowerHex }) =>
          spellPath(
            route.url,
            () => 'x',
            (i) => mask[i % mask.length]!,
            lowerHex,
          ),
        );
        const statuses: number[] = [];
        for (const path of paths)
          statuses.push((await slowest.time(() => server.call('POST', path, { body: {}, headers }))).status);
        expect({ paths, statuses: statuses.map((s) => s === 429) }).toEqual({
          paths,
          statuses: [...Array<boolean>(BURST).fill(false), true],
        });
      },
      60,
    );
  });
});
