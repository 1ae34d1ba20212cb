import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JwtSvidRequest } from '@libs/contracts/agent-api';
import { AgentApiError, type SvidApi } from './client';
import { writeSvidFiles } from './files';
import { svidFacts } from './held-svid';
import { runJwt } from './jwt-command';
import { generateAgentKey } from './keys';
import { issueSvid, newCertificateAuthority } from './testing/fake-attestd';

const NOT_CURRENT = new AgentApiError(
  'jwt-svid',
  401,
  'invalid_proof_of_possession',
  "svid: the certificate is not the agent's current SVID (it was renewed or superseded); log in again",
);

describe('runJwt', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'attestd-jwt-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const ca = newCertificateAuthority();
  /** a new SVID and key in `dir`, as the daemon's renewal writes them; its serial */
  const renew = async (): Promise<string> => {
    const key = await generateAgentKey();
    const { certChain } = await issueSvid(await ca, key.csrPem, 'spiffe://example.org/agent/a');
    await writeSvidFiles(dir, { certChain, privateKeyPem: key.privateKeyPem, bundle: (await ca).cert.toString('pem') });
    return svidFacts(certChain).serial;
  };
  const serialOf = (request: JwtSvidRequest) => svidFacts(request.certChain).serial;

  it('tries again with the SVID a renewal wrote meanwhile, when the server refuses the one it read', async () => {
    const first = await renew();
    const presented: string[] = [];
    let second = '';
    const client: SvidApi = {
      renew: () => Promise.reject(new Error('not used')),
      jwtSvid: async (request) => {
        presented.push(serialOf(request));
        if (presented.length === 1) {
          // the daemon renewed, and its new SVID was used, while this request was on its way
          second = await renew();
          throw NOT_CURRENT;
        }
        return { token: 'T', expiresAt: new Date().toISOString() };
      },
    };
    await expect(runJwt({ server: 'http://unused', out: dir, audiences: ['a'] }, { client })).resolves.toMatchObject({
      token: 'T',
    });
    expect(presented).toEqual([first, second]);
  });

  it('passes the refusal on when the SVID on disk is the one refused', async () => {
    const first = await renew();
    const presented: string[] = [];
    const client: SvidApi = {
      renew: () => Promise.reject(new Error('not used')),
      jwtSvid: async (request) => {
        presented.push(serialOf(request));
        throw NOT_CURRENT;
      },
    };
    await expect(runJwt({ server: 'http://unused', out: dir, audiences: ['a'] }, { client })).rejects.toBe(NOT_CURRENT);
    expect(presented).toEqual([first]);
  });
});
