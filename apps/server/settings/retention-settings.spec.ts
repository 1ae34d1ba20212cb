import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, SettingsError } from './settings';

const DAY = 86_400;

describe('retention settings', () => {
  it('keeps audit events a year, agents 30 days, expired join tokens 7 days, and runs every 10 minutes by default', () => {
    expect(loadSettings({}).retention).toEqual({
      auditSeconds: 365 * DAY,
      agentSeconds: 30 * DAY,
      joinTokenSeconds: 7 * DAY,
      intervalSeconds: 600,
    });
  });

  it('reads durations from the environment, and 0 as keep forever', () => {
    const settings = loadSettings({
      ATTESTD_AUDIT_RETENTION: '0',
      ATTESTD_AGENT_RETENTION: '90d',
      ATTESTD_JOIN_TOKEN_RETENTION: '0d',
      ATTESTD_RETENTION_INTERVAL: '1h',
    });
    expect(settings.retention).toEqual({
      auditSeconds: 0,
      agentSeconds: 90 * DAY,
      joinTokenSeconds: 0,
      intervalSeconds: 3600,
    });
  });

  it('reads a bare 0 from the settings file, where YAML makes it a number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'retention-settings-'));
    try {
      writeFileSync(join(dir, 'attestd.yaml'), 'auditRetention: 0\nagentRetention: 14d\n');
      expect(loadSettings({}, join(dir, 'attestd.yaml')).retention).toMatchObject({
        auditSeconds: 0,
        agentSeconds: 14 * DAY,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ ATTESTD_AUDIT_RETENTION: 'forever' }, /auditRetention \(ATTESTD_AUDIT_RETENTION\)/],
    [{ ATTESTD_AGENT_RETENTION: '30' }, /agentRetention \(ATTESTD_AGENT_RETENTION\)/],
    [{ ATTESTD_JOIN_TOKEN_RETENTION: '-1d' }, /joinTokenRetention \(ATTESTD_JOIN_TOKEN_RETENTION\)/],
    [{ ATTESTD_RETENTION_INTERVAL: '0s' }, /retentionInterval \(ATTESTD_RETENTION_INTERVAL\): must be more than 0s/],
  ])('stops the server on %j, naming the setting', (env, message) => {
    expect(() => loadSettings(env)).toThrow(SettingsError);
    expect(() => loadSettings(env)).toThrow(message);
  });
});
