import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { INSTRUMENTS, prometheusName } from '@apps/server/telemetry/instruments';

/**
 * deploy/alerts.yml under Prometheus's own tools: `promtool check rules` and
 * the unit tests of deploy/alerts.test.yml (`promtool test rules`), as
 * deploy/README.md promises. Without promtool on the PATH the files'
 * structure is still checked here, and the promtool test says so in the
 * output; on CI (`CI` set), where .ci/run installs it, its absence fails.
 */

const DEPLOY = join(__dirname, '..', '..', 'deploy');
const read = (file: string) => readFileSync(join(DEPLOY, file), 'utf8');

interface UnitTestFile {
  rule_files: string[];
  evaluation_interval?: string;
  tests: {
    name: string;
    interval: string;
    input_series: { series: string; values: string }[];
    alert_rule_test: {
      eval_time: string;
      alertname: string;
      exp_alerts: { exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }[];
    }[];
  }[];
}

const rules = parseYaml(read('alerts.yml')) as {
  groups: { name: string; rules: { alert?: string; labels?: Record<string, string> }[] }[];
};
const unitTests = parseYaml(read('alerts.test.yml')) as UnitTestFile;
const alertNames = rules.groups
  .flatMap((group) => group.rules.map((rule) => rule.alert))
  .filter((name): name is string => name !== undefined);
const severityOf = new Map(
  rules.groups.flatMap((group) => group.rules.map((rule) => [rule.alert, rule.labels?.severity] as const)),
);

/** Series families a running attestd exports (histograms as their three series), and Prometheus's `up`. */
const exported = new Set([
  'up',
  ...Object.values(INSTRUMENTS).flatMap((instrument) => {
    const family = prometheusName(instrument);
    return instrument.kind === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => family + suffix) : [family];
  }),
]);

function promtool(): string | undefined {
  const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return found.status === 0 ? 'promtool' : undefined;
}

describe('deploy/alerts.test.yml (promtool unit tests of the alerts)', () => {
  it('loads deploy/alerts.yml and feeds only series a running attestd exports', () => {
    expect(unitTests.rule_files).toEqual(['alerts.yml']);
    const names = unitTests.tests.flatMap((test) =>
      test.input_series.map((input) => /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(input.series)?.[1]),
    );
    expect(names.filter((name) => name === undefined || !exported.has(name))).toEqual([]);
  });

  it('tests only alerts that exist, with their severity, and makes every alert fire', () => {
    const cases = unitTests.tests.flatMap((test) => test.alert_rule_test);
    expect(cases.map((c) => c.alertname).filter((name) => !alertNames.includes(name))).toEqual([]);
    for (const c of cases)
      for (const alert of c.exp_alerts)
        expect({ alert: c.alertname, severity: alert.exp_labels.severity }).toEqual({
          alert: c.alertname,
          severity: severityOf.get(c.alertname),
        });
    const firing = new Set(cases.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname));
    const quiet = new Set(cases.filter((c) => c.exp_alerts.length === 0).map((c) => c.alertname));
    expect(alertNames.filter((alert) => !firing.has(alert))).toEqual([]);
    // the `for:` windows are tested from both sides
    for (const alert of ['AttestdCaExpiresSoon', 'AttestdCaExpiryImminent', 'AttestdKeyRotationFailing'])
      expect({ alert, quietBefore: quiet.has(alert) }).toEqual({ alert, quietBefore: true });
  });

  it('passes promtool check rules and promtool test rules (when promtool is installed; required on CI)', () => {
    const tool = promtool();
    if (!tool) {
      expect(process.env.CI ?? '').toBe('');
      console.warn(
        'promtool is not installed (Debian: apt-get install prometheus): deploy/alerts.yml was checked for structure only',
      );
      return;
    }
    const run = (args: string[]) =>
      execFileSync(tool, args, { cwd: DEPLOY, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(run(['check', 'rules', 'alerts.yml'])).toMatch(new RegExp(`SUCCESS: ${alertNames.length} rules found`));
    expect(run(['test', 'rules', 'alerts.test.yml'])).toMatch(/SUCCESS/);
  });
});
