import fc from 'fast-check';
import { ProofRejected } from '../attestor';
import { azureMsiAttestor } from './azure-msi.attestor';
import { SigningKeys } from './signing-keys';
import {
  appClaims,
  AUTHORITY,
  fakeKeySource,
  signRs256,
  TENANT,
  testTenant,
  userAssignedClaims,
  vmClaims,
} from './testing/tokens';

const tenant = testTenant();
const attestor = azureMsiAttestor({
  cloud: { vmNetwork: async () => ({ securityGroups: [], virtualNetworks: [], subnets: [] }) },
  keys: new SigningKeys(fakeKeySource({ [TENANT]: tenant })),
  authorityHost: AUTHORITY,
});
const config = { tenants: [{ id: TENANT }] };

/** Only a ProofRejected is an acceptable failure: anything else would be a 500. */
async function outcome(token: string): Promise<'accepted' | 'rejected'> {
  try {
    await attestor.verify({ token }, config, { now: new Date() });
    return 'accepted';
  } catch (error) {
    if (error instanceof ProofRejected) return 'rejected';
    throw error;
  }
}

function sameBytes(a: string, b: string): boolean {
  const pa = a.split('.');
  const pb = b.split('.');
  return (
    pa.length === pb.length &&
    pa.every(
      (part, i) => Buffer.from(part, 'base64url').equals(Buffer.from(pb[i]!, 'base64url')) && /^[\w-]*$/.test(pb[i]!),
    )
  );
}

describe('azure_msi against arbitrary tokens', () => {
  it('rejects any string, and never fails otherwise', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (token) => expect(await outcome(token)).toBe('rejected')),
      { numRuns: 300 },
    );
  });

  it('rejects three base64url parts of arbitrary JSON', async () => {
    const part = fc.oneof(fc.json(), fc.string()).map((text) => Buffer.from(text).toString('base64url'));
    await fc.assert(
      fc.asyncProperty(part, part, fc.base64String(), async (h, p, s) =>
        expect(await outcome(`${h}.${p}.${s}`)).toBe('rejected'),
      ),
      { numRuns: 300 },
    );
  });

  it('rejects a valid token with any one character changed', async () => {
    const token = await signRs256(tenant, vmClaims());
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...'ABCDEFabcdef0123456789-_.'),
        async (at, char) => {
          const changed = token.slice(0, at) + char + token.slice(at + 1);
          fc.pre(!sameBytes(token, changed)); // a final base64url character has unused bits
          expect(await outcome(changed)).toBe('rejected');
        },
      ),
      { numRuns: 300 },
    );
  });

  // Validly signed tokens of the listed tenant: only the claims decide. Extra
  // claims are drawn from the ones Entra writes, with arbitrary values.
  const extraClaims = fc.dictionary(
    fc.constantFrom('idtyp', 'appidacr', 'azpacr', 'roles', 'xms_az_rid', 'xms_tcdt', 'name', 'ver', 'amr', 'acr'),
    fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('app', 'user', '2', '1', '0'),
      fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
    ),
  );

  it("rejects a signed token without xms_mirid (an application's), whatever else it claims", async () => {
    await fc.assert(
      fc.asyncProperty(extraClaims, async (extra) =>
        expect(await outcome(await signRs256(tenant, appClaims({ ...extra, xms_mirid: undefined })))).toBe('rejected'),
      ),
      { numRuns: 60 },
    );
  });

  it("rejects a signed token that carries a user's claim (scp, upn, unique_name), whatever else it claims", async () => {
    const userMarker = fc.constantFrom('scp', 'upn', 'unique_name');
    await fc.assert(
      fc.asyncProperty(
        userMarker,
        fc.string({ maxLength: 40 }),
        fc.boolean(),
        extraClaims,
        async (marker, value, assigned, extra) => {
          const claims = assigned ? userAssignedClaims(extra) : vmClaims(extra);
          expect(await outcome(await signRs256(tenant, { ...claims, [marker]: value }))).toBe('rejected');
        },
      ),
      { numRuns: 60 },
    );
  });
});
