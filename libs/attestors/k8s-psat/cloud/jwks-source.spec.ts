import { startK8sIssuer, type K8sIssuer } from '@libs/testing/k8s-issuer';
import { until } from '@libs/testing/until';
import { DependencyUnavailable } from '../../attestor';
import { createJwksSource } from './jwks-source';

describe('createJwksSource', () => {
  let issuer: K8sIssuer;
  beforeAll(async () => {
    issuer = await startK8sIssuer();
  });
  afterAll(() => issuer?.close());

  it("fetches a cluster's published key set over https", async () => {
    const stats: string[] = [];
    const source = createJwksSource({
      stats: {
        request: (service, operation, outcome) => stats.push(`${service} ${operation} ${outcome}`),
        cache: () => undefined,
      },
    });
    await expect(source.fetchKeys(issuer.jwksUri)).resolves.toEqual({ keys: [issuer.key.publicJwk] });
    expect(stats).toEqual(['kubernetes jwks success']);
  });

  it('is DependencyUnavailable when the answer is not a key set', async () => {
    await expect(createJwksSource().fetchKeys(`${issuer.issuer}/no-such-path`)).rejects.toThrow(
      new DependencyUnavailable(`k8s_psat: jwks unavailable at ${issuer.issuer}: HTTP 404`),
    );
  });

  it('is DependencyUnavailable when nothing answers', async () => {
    await expect(createJwksSource().fetchKeys('https://127.0.0.1:1/keys')).rejects.toBeInstanceOf(
      DependencyUnavailable,
    );
  });

  it('aborts an endless answer at the size cap instead of reading it all', async () => {
    issuer.serveEndlessJwks(true);
    try {
      await expect(createJwksSource().fetchKeys(issuer.jwksUri)).rejects.toThrow(
        new DependencyUnavailable(`k8s_psat: jwks unavailable at ${issuer.issuer}: answer is larger than 262144 bytes`),
      );
      const answer = issuer.lastEndlessAnswer()!;
      expect(await until(() => answer.closed())).toBe(true);
      // what the socket buffers beyond the cap, not an endless stream
      expect(answer.bytesSent()).toBeLessThan(16 * 1024 * 1024);
    } finally {
      issuer.serveEndlessJwks(false);
    }
  });
});
