// A wire-level simulator of attestd's Agent API (`api.md`), for the agent's
// tests: a real node:http server on 127.0.0.1 that validates bodies with the
// shared contract schemas, verifies join tokens and CSRs, and issues real
// certificates from a throwaway CA. Faults are injected with `intercept`.
import 'reflect-metadata';
import { randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Pkcs10CertificateRequest,
  SubjectAlternativeNameExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
import Ajv from 'ajv';
import {
  completeLoginSchema,
  startLoginSchema,
  type CompleteLoginRequest,
  type CompleteLoginResponse,
  type StartLoginRequest,
  type StartLoginResponse,
} from '@libs/contracts/agent-api';
import { PROBLEMS, problemTypeUri, type Problem, type ProblemCode } from '@libs/contracts/problem';

export interface CertificateAuthority {
  keys: webcrypto.CryptoKeyPair;
  cert: X509Certificate;
}

const EC_P256: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const ECDSA_SHA256: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export async function newCertificateAuthority(trustDomain = 'example.org'): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, false, ['sign', 'verify']);
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=fake attestd CA, O=${trustDomain}`,
      keys,
      signingAlgorithm: ECDSA_SHA256,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 24 * 3600_000),
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        new SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
      ],
    },
    webcrypto,
  );
  return { keys, cert };
}

/** Signs an X.509-SVID for the CSR's key; throws when the CSR does not verify. */
export async function issueSvid(
  ca: CertificateAuthority,
  csrPem: string,
  spiffeId: string,
  ttlMs = 3600_000,
): Promise<{ certChain: string; expiresAt: string }> {
  const csr = new Pkcs10CertificateRequest(csrPem);
  if (!(await csr.verify(webcrypto))) throw new Error('CSR not signed by its key');
  const notAfter = new Date(Math.floor((Date.now() + ttlMs) / 1000) * 1000);
  const leaf = await X509CertificateGenerator.create(
    {
      subject: 'O=SPIRE',
      issuer: ca.cert.subject,
      publicKey: csr.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: ECDSA_SHA256,
      notBefore: new Date(Date.now() - 10_000),
      notAfter,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
        new SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }]),
      ],
    },
    webcrypto,
  );
  return { certChain: leaf.toString('pem') + '\n', expiresAt: notAfter.toISOString() };
}

export function problem(code: ProblemCode, detail: string): Problem {
  const { status, title } = PROBLEMS[code];
  return { type: problemTypeUri(code), title, status, code, detail, requestId: randomUUID() };
}

export interface FakeRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** parsed JSON, or the raw text when it is not JSON */
  body: unknown;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  /** objects are sent as JSON; strings as they are */
  body?: unknown;
  /** wait this long before answering (timeouts) */
  delayMs?: number;
}

export type Route = 'login' | 'complete' | 'other';

export interface FakeAttestdOptions {
  trustDomain?: string;
  /** join tokens the fake accepts, each once: token → id */
  joinTokens?: Record<string, string>;
  /** the one policy's required attestor types */
  policyRequires?: string[];
  /** attestors that get a challenge at login start */
  bindsChallenge?: string[];
  /** answer a request yourself; return undefined to let the fake answer */
  intercept?: (route: Route, request: FakeRequest) => FakeResponse | undefined | Promise<FakeResponse | undefined>;
}

export interface FakeAttestd {
  url: string;
  ca: CertificateAuthority;
  /** every request, in arrival order */
  requests: FakeRequest[];
  /** the responses the fake itself produced for completed logins */
  issued: CompleteLoginResponse[];
  close(): Promise<void>;
}

const ajv = new Ajv({ allErrors: true });
const validateStart = ajv.compile<StartLoginRequest>(startLoginSchema);
const validateComplete = ajv.compile<CompleteLoginRequest>(completeLoginSchema);

export async function startFakeAttestd(options: FakeAttestdOptions = {}): Promise<FakeAttestd> {
  const trustDomain = options.trustDomain ?? 'example.org';
  const ca = await newCertificateAuthority(trustDomain);
  const joinTokens = new Map(Object.entries(options.joinTokens ?? {}));
  const policyRequires = options.policyRequires ?? ['join_token'];
  const bindsChallenge = new Set(options.bindsChallenge ?? ['aws_iam']);
  const logins = new Map<string, { challenges: Record<string, string> }>();
  const requests: FakeRequest[] = [];
  const issued: CompleteLoginResponse[] = [];

  async function answer(route: Route, request: FakeRequest): Promise<FakeResponse> {
    const injected = await options.intercept?.(route, request);
    if (injected) return injected;
    if (route === 'login') return startLogin(request.body);
    if (route === 'complete') {
      const loginId = decodeURIComponent(request.path.split('/')[4] ?? '');
      return completeLogin(loginId, request.body);
    }
    return problemResponse('not_found', `no route ${request.method} ${request.path}`);
  }

  function startLogin(body: unknown): FakeResponse {
    if (!validateStart(body)) return problemResponse('invalid_request', ajv.errorsText(validateStart.errors));
    if (!policyRequires.every((type) => body.providedMethods.includes(type))) {
      return problemResponse('no_policy_for_methods', 'no cluster policy authorizes the provided attestors');
    }
    const loginId = randomBytes(16).toString('base64url');
    const challenges: Record<string, string> = {};
    for (const type of body.providedMethods) {
      if (bindsChallenge.has(type)) challenges[type] = randomBytes(16).toString('base64url');
    }
    logins.set(loginId, { challenges });
    const response: StartLoginResponse = {
      loginId,
      expiresAt: new Date(Date.now() + 5 * 60_000).toISOString(),
      requiredAttestors: policyRequires,
      challenges,
    };
    return { status: 200, body: response };
  }

  async function completeLogin(loginId: string, body: unknown): Promise<FakeResponse> {
    if (!logins.delete(loginId)) return problemResponse('login_not_found', 'login is unknown or already completed');
    if (!validateComplete(body)) return problemResponse('invalid_request', ajv.errorsText(validateComplete.errors));
    const attributes: Record<string, string[]> = {};
    const selectors: string[] = [];
    let agentPath = '/agent/fake';
    for (const type of policyRequires) {
      const proof = body.proofs[type] as Record<string, unknown> | undefined;
      if (!proof) return problemResponse('invalid_request', `${type}: proof missing`);
      if (type === 'join_token') {
        const id = typeof proof.token === 'string' ? joinTokens.get(proof.token) : undefined;
        if (id === undefined) {
          return problemResponse('attestation_failed', 'join_token: token is unknown, expired or already used');
        }
        joinTokens.delete(proof.token as string);
        attributes['join_token.id'] = [id];
        selectors.push(`join_token:id:${id}`);
        agentPath = `/agent/join_token/${id}`;
      }
    }
    const spiffeId = `spiffe://${trustDomain}${agentPath}`;
    let svid: { certChain: string; expiresAt: string };
    try {
      svid = await issueSvid(ca, body.csr, spiffeId);
    } catch {
      return problemResponse('invalid_request', 'csr: not a PKCS#10 request signed by its key');
    }
    const response: CompleteLoginResponse = {
      agentId: randomUUID(),
      spiffeId,
      policy: 'fake_policy',
      attributes,
      selectors,
      svid,
      bundle: ca.cert.toString('pem') + '\n',
      // a join token is single use
      reattestable: !policyRequires.includes('join_token'),
    };
    issued.push(response);
    return { status: 200, body: response };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // keep the raw text
    }
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const request: FakeRequest = { method: req.method ?? '', path, headers: req.headers, body };
    requests.push(request);
    let route: Route = 'other';
    if (req.method === 'POST' && path === '/v1/agent/login') route = 'login';
    else if (req.method === 'POST' && /^\/v1\/agent\/login\/[^/]+\/complete$/.test(path)) route = 'complete';
    const response = await answer(route, request);
    if (response.delayMs) await new Promise((resolve) => setTimeout(resolve, response.delayMs));
    const isText = typeof response.body === 'string';
    const payload =
      response.body === undefined ? '' : isText ? (response.body as string) : JSON.stringify(response.body);
    const headers: Record<string, string> = {};
    if (!isText && response.body !== undefined) {
      headers['content-type'] = response.status >= 400 ? 'application/problem+json' : 'application/json';
    }
    res.writeHead(response.status, { ...headers, ...response.headers });
    res.end(payload);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    ca,
    requests,
    issued,
    close: () => {
      // idempotent, so a test may stop the server early
      closing ??= new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
      return closing;
    },
  };
}

function problemResponse(code: ProblemCode, detail: string): FakeResponse {
  const body = problem(code, detail);
  return { status: body.status, body };
}
