import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { createTlsIdentity } from '../azure-simulator/tls';
import { answerEndlessly, type EndlessAnswer } from '../endless-body';
import { generateClusterKey, type ClusterAlgorithm, type ClusterKey } from './keys';
import { projectedClaims, signToken, type MintOptions, type PodIdentity } from './tokens';

export type { ClusterKey } from './keys';
export { generateClusterKey } from './keys';
export type { MintOptions, PodIdentity } from './tokens';

export interface K8sIssuer {
  /** the service-account issuer (`--service-account-issuer`), https://127.0.0.1:<port> */
  issuer: string;
  jwksUri: string;
  key: ClusterKey;
  /** requests for the JWKS so far */
  jwksRequests(): number;
  /** while on, the JWKS answer is a body that never ends; what the last such answer sent */
  serveEndlessJwks(on: boolean): void;
  lastEndlessAnswer(): EndlessAnswer | undefined;
  /** a projected service-account token for the pod, signed with the cluster's key */
  mint(identity: PodIdentity, options?: MintOptions): Promise<string>;
  /** a new signing key replaces the published one (key rotation) */
  rotate(): Promise<void>;
  /** a KubernetesClusters document naming this cluster, its keys by `jwksUri` or inline; `issuer` stands in for the https one (as minikube's `kubernetes/serviceaccount`) */
  clustersDocument(clusters: { name: string; audience: string; inline?: boolean; issuer?: string }[]): string;
  close(): Promise<void>;
}

/**
 * A Kubernetes API server's service-account issuer discovery, as a test
 * fixture: `/.well-known/openid-configuration` and `/openid/v1/jwks` over
 * https (the KubernetesClusters schema accepts https only). Its self-signed
 * certificate joins this process's default trusted CAs while it runs, as
 * NODE_EXTRA_CA_CERTS would for a private cluster CA; restored on close.
 */
export async function startK8sIssuer(options: { alg?: ClusterAlgorithm } = {}): Promise<K8sIssuer> {
  let key = await generateClusterKey(options.alg);
  let jwksRequests = 0;
  let endless = false;
  let lastEndless: EndlessAnswer | undefined;
  const identity = await createTlsIdentity();
  const trustedBefore = tls.getCACertificates('default');
  tls.setDefaultCACertificates([...trustedBefore, identity.certificatePem]);
  let issuer = '';
  const server: Server = createServer({ cert: identity.certificatePem, key: identity.keyPem }, (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { kind: 'Status', code: 405 });
    if (path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer,
        jwks_uri: `${issuer}/openid/v1/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [key.alg],
      });
    }
    if (path === '/openid/v1/jwks') {
      jwksRequests += 1;
      if (endless) {
        lastEndless = answerEndlessly(res);
        return;
      }
      return send(200, { keys: [key.publicJwk] });
    }
    return send(404, { kind: 'Status', code: 404 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUri: `${issuer}/openid/v1/jwks`,
    get key() {
      return key;
    },
    jwksRequests: () => jwksRequests,
    serveEndlessJwks: (on) => {
      endless = on;
    },
    lastEndlessAnswer: () => lastEndless,
    async mint(pod, mint = {}) {
      const claims = {
        ...projectedClaims(pod, {
          issuer: mint.issuer ?? issuer,
          audience: mint.audience ?? 'attestd',
          ttlSeconds: mint.ttlSeconds ?? 3600,
        }),
        ...mint.override,
      };
      return signToken(claims, mint.key ?? key, mint.header);
    },
    async rotate() {
      key = await generateClusterKey(key.alg);
    },
    clustersDocument(clusters) {
      const entries = clusters.map((c) => {
        const keys = c.inline
          ? `      jwks: ${JSON.stringify({ keys: [key.publicJwk] })}`
          : `      jwksUri: ${issuer}/openid/v1/jwks`;
        return `    - name: ${c.name}\n      issuer: ${JSON.stringify(c.issuer ?? issuer)}\n      audience: ${c.audience}\n${keys}`;
      });
      return `section: KubernetesClusters\nschema: v1\nspec:\n  clusters:\n${entries.join('\n')}\n`;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      tls.setDefaultCACertificates(trustedBefore);
    },
  };
}
