import { randomUUID } from 'node:crypto';
import type { LoginRecord } from '@libs/persistence/login-write';

/** A login write as an aws_iid login makes it, for a new node unless `overrides` say otherwise. */
export function loginRecord(overrides: Partial<LoginRecord> = {}): LoginRecord {
  const agentId = randomUUID();
  return {
    loginNonce: randomUUID(),
    loginExpiresAt: new Date(Date.now() + 300_000),
    agentId,
    spiffeId: `spiffe://example.org/agent/${agentId}`,
    policy: 'p',
    attestorTypes: ['aws_iid'],
    attributes: { 'aws_iid.account.id': ['123456789012'] },
    selectors: ['aws_iid:instance:id:i-1'],
    tofuKeys: [`aws_iid/123456789012/us-east-1/i-${randomUUID().slice(0, 8)}`],
    tofu: true,
    svidSerial: 'ab',
    svidExpiresAt: new Date(Date.now() + 3600_000),
    ...overrides,
  };
}
