import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runLogin } from '@apps/agent/login';
import { INSTRUMENTS, prometheusName, RUNTIME_METRICS } from '@apps/server/telemetry/instruments';
import { login, newJoinToken, problemOf } from '../support/agent';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { fakeNodeAttestor } from '../support/fake-node-attestor';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';
import { until } from '@libs/testing/until';

/**
 * The deployment files (docker-compose.yml, deploy/) parse, fit together,
 * and use only metrics attestd exports: first against INSTRUMENTS, then
 * against the /metrics scrape of a real server that has done the logins the
 * files watch.
 */

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

type Json = Record<string, unknown>;
interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test: string[] | string };
  ports?: string[];
  volumes?: string[];
}
interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const prometheusConfig = parseYaml(read('deploy/prometheus.yml')) as {
  rule_files: string[];
  scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
};
const alertRules = parseYaml(read('deploy/alerts.yml')) as { groups: { name: string; rules: AlertRule[] }[] };
const dashboard = JSON.parse(read('deploy/grafana/dashboard.json')) as Json & {
  panels: Json[];
  templating: { list: { name: string }[] };
};

const services = compose.services;
const attestdServices = Object.keys(services).filter((name) => services[name]!.environment?.DATABASE_URL !== undefined);
const postgresName = Object.keys(services).find((name) => /^postgres(:|$)/.test(services[name]!.image ?? ''))!;
const prometheusService = Object.keys(services).find((name) =>
  /^(prom\/prometheus|quay\.io\/prometheus\/prometheus)(:|$)/.test(services[name]!.image ?? ''),
)!;
const alerts = alertRules.groups
  .flatMap((group) => group.rules)
  .filter((rule): rule is AlertRule & { alert: string } => rule.alert !== undefined);
const panels = dashboard.panels.flatMap((panel) => [panel, ...((panel.panels as Json[] | undefined) ?? [])]);
const panelExprs = panels.flatMap((panel) =>
  ((panel.targets as { expr?: string }[] | undefined) ?? []).map((target) => ({
    panel: panel.title as string,
    expr: target.expr ?? '',
  })),
);
const exprs = [
  ...alerts.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
  ...panelExprs.map(({ panel, expr }) => ({ where: `panel "${panel}"`, expr })),
];

/** Metric names in PromQL, leaving out label names in grouping clauses (`by (v8js_gc_type)`) and matchers. */
const metricNamesIn = (expr: string) => {
  const withoutLabels = expr.replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, '').replace(/\{[^}]*\}/g, '');
  return [...new Set(withoutLabels.match(/\b(?:attestd|process|nodejs|v8js)_[a-z0-9_]+/g) ?? [])];
};
const usedMetricNames = [...new Set(exprs.flatMap(({ expr }) => metricNamesIn(expr)))].sort();

/** Series names a scrape shows for each instrument: histograms as `_bucket`, `_sum`, `_count`. */
const instrumentOf = new Map<string, (typeof INSTRUMENTS)[keyof typeof INSTRUMENTS]>();
for (const instrument of Object.values(INSTRUMENTS)) {
  const family = prometheusName(instrument);
  const series =
    instrument.kind === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => family + suffix) : [family];
  for (const name of series) instrumentOf.set(name, instrument);
}
/** The same for the process and runtime metrics of the OpenTelemetry instrumentations: series name → labels. */
const runtimeLabels = new Map<string, readonly string[]>();
for (const [family, metric] of Object.entries(RUNTIME_METRICS)) {
  const series =
    metric.kind === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => family + suffix) : [family];
  for (const name of series) runtimeLabels.set(name, metric.labels);
}

/** Label values operations.md enumerates. */
const ENUMERATED: Record<string, Record<string, string[]>> = {
  [prometheusName(INSTRUMENTS.attestationProofs)]: { outcome: ['success', 'failed'] },
  [prometheusName(INSTRUMENTS.cacheLookups)]: { result: ['hit', 'miss'] },
  [prometheusName(INSTRUMENTS.svidsIssued)]: { kind: ['x509', 'jwt'], reason: ['login', 'renew', 'mint'] },
};

/** `metric{label op "value", ...}` selectors of a PromQL expression. */
function selectors(expr: string): { metric: string; matchers: { label: string; op: string; value: string }[] }[] {
  return [...expr.matchAll(/\b((?:attestd|process|nodejs|v8js)_[a-z0-9_]+|up)\s*\{([^}]*)\}/g)].map(
    ([, metric, body]) => ({
      metric: metric!,
      matchers: [...body!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map(
        ([, label, op, value]) => ({ label: label!, op: op!, value: value! }),
      ),
    }),
  );
}

function labelsOf(metric: string): string[] {
  if (metric === 'up') return ['job', 'instance'];
  const labels = instrumentOf.get(metric)?.attributes ?? runtimeLabels.get(metric);
  if (!labels) return [];
  return [...labels, 'job', 'instance', ...(metric.endsWith('_bucket') ? ['le'] : [])];
}

function containerPort(mapping: string): string {
  return mapping.split(':').at(-1)!.split('/')[0]!;
}

describe('deployment files', () => {
  describe('docker-compose.yml', () => {
    it('runs PostgreSQL and two attestd replicas on its database', () => {
      expect(postgresName).toBeDefined();
      const postgres = services[postgresName]!;
      expect(postgres.healthcheck).toBeDefined();
      expect(attestdServices).toHaveLength(2);
      for (const name of attestdServices) {
        const service = services[name]!;
        expect(service.build).toBeDefined();
        const url = new URL(service.environment!.DATABASE_URL!);
        expect(url.protocol).toBe('postgresql:');
        expect(url.hostname).toBe(postgresName);
        expect(url.port || '5432').toBe('5432');
        expect(decodeURIComponent(url.username)).toBe(postgres.environment!.POSTGRES_USER);
        expect(decodeURIComponent(url.password)).toBe(postgres.environment!.POSTGRES_PASSWORD);
        expect(url.pathname.slice(1)).toBe(postgres.environment!.POSTGRES_DB);
        expect(service.depends_on).toMatchObject({ [postgresName]: { condition: 'service_healthy' } });
      }
      const [first, second] = attestdServices.map((name) => services[name]!);
      expect(first!.environment).toEqual(second!.environment);
      const hostPorts = attestdServices
        .flatMap((name) => services[name]!.ports ?? [])
        .map((mapping) => mapping.split(':').at(-2));
      expect(new Set(hostPorts).size).toBe(hostPorts.length);
    });

    it('checks each replica is ready with /readyz', () => {
      for (const name of attestdServices) {
        const test = services[name]!.healthcheck?.test;
        expect([test].flat().join(' ')).toMatch(/\/readyz\b/);
      }
    });

    it('runs Prometheus with deploy/prometheus.yml as its configuration and deploy/alerts.yml beside it', () => {
      expect(prometheusService).toBeDefined();
      const prometheus = services[prometheusService]!;
      const mounts = new Map(
        (prometheus.volumes ?? [])
          .map((volume) => volume.split(':'))
          .map(([source, target]) => [source!.replace(/^\.\//, ''), target!]),
      );
      const configFlag = [prometheus.command ?? []].flat().find((arg) => arg.startsWith('--config.file='));
      const configPath = configFlag ? configFlag.slice('--config.file='.length) : '/etc/prometheus/prometheus.yml';
      expect(mounts.get('deploy/prometheus.yml')).toBe(configPath);
      // rule_files resolve against the configuration file's directory
      const ruleTargets = prometheusConfig.rule_files.map((file) => posix.resolve(posix.dirname(configPath), file));
      expect(ruleTargets).toContain(mounts.get('deploy/alerts.yml'));
    });

    it('publishes every port on 127.0.0.1 only', () => {
      const mappings = Object.entries(services).flatMap(([name, service]) =>
        (service.ports ?? []).map((mapping) => ({ name, mapping })),
      );
      expect(mappings.length).toBeGreaterThan(0);
      expect(mappings.filter(({ mapping }) => !/^127\.0\.0\.1:\d+:\d+(\/(tcp|udp))?$/.test(mapping))).toEqual([]);
    });

    it('runs Grafana without anonymous access or sign-up, its admin password required from the environment', () => {
      const grafana = Object.values(services).find((service) => /^grafana\/grafana(:|$)/.test(service.image ?? ''))!;
      expect(grafana).toBeDefined();
      const env = grafana.environment ?? {};
      expect(env.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
      expect(env.GF_USERS_ALLOW_SIGN_UP).toBe('false');
      // "${VAR:?message}": compose refuses to start without it, and there is no default such as admin/admin
      expect(env.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}$/);
    });

    it('bind-mounts only files that exist', () => {
      const sources = Object.values(services)
        .flatMap((service) => service.volumes ?? [])
        .map((volume) => volume.split(':')[0]!)
        .filter((source) => source.startsWith('.'));
      expect(sources.length).toBeGreaterThan(0);
      for (const source of sources) expect(existsSync(join(ROOT, source))).toBe(true);
    });
  });

  describe('deploy/prometheus.yml', () => {
    it('scrapes /metrics on every attestd replica the compose file runs, by service name', () => {
      const job = prometheusConfig.scrape_configs.find((config) => config.job_name === 'attestd')!;
      expect(job).toBeDefined();
      expect(job.metrics_path ?? '/metrics').toBe('/metrics');
      const targets = job.static_configs.flatMap((config) => config.targets).sort();
      const expected = attestdServices.map((name) => `${name}:${containerPort(services[name]!.ports![0]!)}`).sort();
      expect(targets).toEqual(expected);
    });

    it('loads deploy/alerts.yml', () => {
      expect(prometheusConfig.rule_files.map((file) => posix.basename(file))).toContain('alerts.yml');
    });
  });

  describe('deploy/alerts.yml', () => {
    it('is a well-formed rule file: named groups, alerts with expr, for, severity and a summary', () => {
      expect(alertRules.groups.length).toBeGreaterThan(0);
      expect(new Set(alertRules.groups.map((group) => group.name)).size).toBe(alertRules.groups.length);
      for (const group of alertRules.groups) {
        expect(group.rules.length).toBeGreaterThan(0);
        for (const rule of group.rules) {
          expect(
            Object.keys(rule).every((key) =>
              ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(key),
            ),
          ).toBe(true);
          expect(typeof rule.expr).toBe('string');
          if (rule.record !== undefined) continue;
          expect(rule.alert).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
          if (rule.for !== undefined) expect(rule.for).toMatch(/^(\d+(ms|s|m|h|d|w|y))+$/);
          expect(['warning', 'critical']).toContain(rule.labels?.severity);
          expect(rule.annotations?.summary).toEqual(expect.any(String));
          expect(rule.annotations?.description).toEqual(expect.any(String));
        }
      }
      expect(new Set(alerts.map((rule) => rule.alert)).size).toBe(alerts.length);
    });

    it('alerts on what operations.md asks for', () => {
      const alertUsing = (test: (expr: string) => boolean) =>
        alerts.filter((rule) => test(rule.expr.replace(/\s+/g, ' ')));
      const proofs = prometheusName(INSTRUMENTS.attestationProofs);
      // failed attestation rate, per attestor
      expect(
        alertUsing((e) => e.includes(`${proofs}{outcome="failed"}`) && /by \(attestor_type\)/.test(e)),
      ).not.toHaveLength(0);
      // any TOFU conflict
      expect(
        alertUsing((e) => e.includes(prometheusName(INSTRUMENTS.tofuConflicts)) && /> 0\b/.test(e)),
      ).not.toHaveLength(0);
      // any login refused because another active agent holds its SPIFFE ID
      expect(
        alertUsing(
          (e) => e.includes(`${prometheusName(INSTRUMENTS.logins)}{code="spiffe_id_in_use"}`) && /> 0\b/.test(e),
        ),
      ).not.toHaveLength(0);
      // login error ratio
      expect(
        alertUsing((e) => e.includes(`${prometheusName(INSTRUMENTS.logins)}{outcome!="success"}`) && e.includes('/')),
      ).not.toHaveLength(0);
      // cloud request failures
      expect(
        alertUsing((e) => e.includes(prometheusName(INSTRUMENTS.cloudRequests)) && /outcome!?="/.test(e)),
      ).not.toHaveLength(0);
      // p99 login latency
      expect(
        alertUsing(
          (e) =>
            e.includes('histogram_quantile(0.99') && e.includes(`${prometheusName(INSTRUMENTS.loginDuration)}_bucket`),
        ),
      ).not.toHaveLength(0);
      // a replica down
      expect(alertUsing((e) => /up\{job="attestd"\} == 0/.test(e))).not.toHaveLength(0);
      // the signing CA close to its notAfter, and key rotation failing
      expect(
        alertUsing((e) => e.includes(prometheusName(INSTRUMENTS.caExpiry)) && e.includes('time()') && /< \d/.test(e)),
      ).not.toHaveLength(0);
      expect(
        alertUsing((e) => e.includes(prometheusName(INSTRUMENTS.keyRotationFailures)) && /> 0\b/.test(e)),
      ).not.toHaveLength(0);
    });
  });

  describe('deploy/grafana/dashboard.json', () => {
    it('has a query on every graph panel, through the datasource variable, and unique panel ids', () => {
      expect(dashboard.templating.list.map((variable) => variable.name)).toContain('datasource');
      const graphs = panels.filter((panel) => panel.type !== 'row');
      expect(graphs.length).toBeGreaterThan(0);
      for (const panel of graphs) {
        const targets = panel.targets as { expr?: string; datasource?: { uid?: string } }[];
        expect(targets.length).toBeGreaterThan(0);
        for (const target of targets) {
          expect(target.expr).toEqual(expect.any(String));
          expect(target.datasource?.uid).toBe('${datasource}');
        }
      }
      const ids = panels.map((panel) => panel.id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('shows every metric attestd exports', () => {
      const shown = new Set(
        panelExprs.flatMap(({ expr }) => metricNamesIn(expr)).map((name) => instrumentOf.get(name)?.name),
      );
      expect(
        Object.values(INSTRUMENTS)
          .map((instrument) => instrument.name)
          .filter((name) => !shown.has(name)),
      ).toEqual([]);
    });
  });

  describe('the PromQL of the alerts and the dashboard', () => {
    it('uses only metric names INSTRUMENTS (as prometheusName spells them) and RUNTIME_METRICS declare', () => {
      expect(usedMetricNames.length).toBeGreaterThan(0);
      expect(usedMetricNames.filter((name) => !instrumentOf.has(name) && !runtimeLabels.has(name))).toEqual([]);
    });

    it('has balanced brackets and quotes', () => {
      for (const { where, expr } of exprs) {
        const stripped = expr.replace(/"[^"]*"/g, '""');
        expect({ where, quotes: (expr.match(/"/g) ?? []).length % 2 }).toEqual({ where, quotes: 0 });
        const stack: string[] = [];
        for (const char of stripped) {
          if ('({['.includes(char)) stack.push(char);
          if (')}]'.includes(char))
            expect({ where, closes: stack.pop() }).toEqual({ where, closes: { ')': '(', '}': '{', ']': '[' }[char] });
        }
        expect({ where, unclosed: stack }).toEqual({ where, unclosed: [] });
      }
    });

    it('matches and groups only on labels the metrics have, and on enumerated values operations.md lists', () => {
      for (const { where, expr } of exprs) {
        const metrics = selectors(expr);
        for (const { metric, matchers } of metrics) {
          for (const { label, op, value } of matchers) {
            expect({ where, metric, label, known: labelsOf(metric).includes(label) }).toEqual({
              where,
              metric,
              label,
              known: true,
            });
            const allowed = ENUMERATED[metric]?.[label];
            if (allowed && (op === '=' || op === '!='))
              expect({ where, metric, label, value, allowed: allowed.includes(value) }).toEqual({
                where,
                metric,
                label,
                value,
                allowed: true,
              });
          }
        }
        const groupable = new Set([...metricNamesIn(expr), ...(/\bup\b/.test(expr) ? ['up'] : [])].flatMap(labelsOf));
        for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
          for (const label of list!
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)) {
            expect({ where, label, known: groupable.has(label) }).toEqual({ where, label, known: true });
          }
        }
      }
    });
  });

  /**
   * A real server after a join-token login and a failed one, a TOFU
   * conflict, and an aws_iid login against the simulated AWS (cloud requests
   * and cache lookups): everything the deployment files watch.
   */
  describe('a running server', () => {
    let aws: AwsTestbed;
    let server: TestServer;
    let families: Map<string, string>;
    let samples: { name: string; labels: Record<string, string> }[];
    const agentOut = mkdtempSync(join(tmpdir(), 'deploy-agent-'));

    beforeAll(async () => {
      aws = await startAwsTestbed();
      // joinTokenPolicy's one AgentAttestation document, with two more policies
      const policies = `${joinTokenPolicy()}    - name: test_nodes
      requiredAttestors: [{ type: test_node }]
    - name: ec2
      requiredAttestors: [{ type: aws_iid }]
      spiffeIdTemplate: "/ec2/{{aws_iid.ec2.instance.id}}"
`;
      server = await startTestServer({
        policies: { 'agents.yaml': policies, 'certificates.yaml': aws.certificatesSection },
        additionalAttestors: [fakeNodeAttestor],
      });

      const { token } = await newJoinToken(server);
      expect((await login(server, { join_token: { token } })).status).toBe(200);
      expect(
        await problemOf(await login(server, { join_token: { token: 'not-a-real-token-0123456789' } })),
      ).toMatchObject({ status: 401, code: 'attestation_failed' });
      expect((await login(server, { test_node: { node: 'n1', secret: 'let-me-in' } })).status).toBe(200);
      expect(await problemOf(await login(server, { test_node: { node: 'n1', secret: 'let-me-in' } }))).toMatchObject({
        status: 409,
        code: 'node_already_attested',
      });
      const imds = await aws.imdsFor('i-0b22a22eec53b9321');
      await runLogin({ server: server.url, attestors: ['aws_iid'], out: agentOut, imdsEndpoint: imds.url });

      // the runtime instrumentation reports garbage collection once one has
      // happened, which a quick run may not have seen yet: make garbage until it shows
      let text = '';
      await until(async () => {
        const garbage: number[][] = [];
        for (let i = 0; i < 200; i++) garbage.push(new Array<number>(10_000).fill(i));
        const response = await server.call('GET', '/metrics');
        expect(response.status).toBe(200);
        text = await response.text();
        return garbage.length > 0 && text.includes('v8js_gc_duration_seconds');
      });
      families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name!, type!]));
      samples = [...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+/gm)].map(([, name, labels]) => ({
        name: name!,
        labels: Object.fromEntries(
          [...(labels ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [
            key!,
            value!,
          ]),
        ),
      }));
    }, 180_000);
    afterAll(async () => {
      await server?.stop();
      await aws?.close();
      rmSync(agentOut, { recursive: true, force: true });
    });

    /** Every series name the scrape's `# TYPE` lines declare. */
    const scraped = () =>
      new Set(
        [...families].flatMap(([name, type]) =>
          type === 'histogram' || type === 'summary'
            ? [`${name}_bucket`, `${name}_sum`, `${name}_count`, name]
            : [name],
        ),
      );

    it('exports every metric the alerts and the dashboard use', () => {
      const exported = scraped();
      expect({
        missingFromScrape: usedMetricNames.filter((name) => !exported.has(name)),
        scraped: [...families.keys()].sort(),
      }).toEqual({
        missingFromScrape: [],
        scraped: expect.anything(),
      });
    });

    it('exports every instrument under the name prometheusName gives it, with its kind', () => {
      const declared = Object.values(INSTRUMENTS).map((instrument) => ({
        name: prometheusName(instrument),
        type: families.get(prometheusName(instrument)) ?? 'missing',
      }));
      expect(declared).toEqual(
        Object.values(INSTRUMENTS).map((instrument) => ({ name: prometheusName(instrument), type: instrument.kind })),
      );
    });

    it('spells the outcome values the alerts and the dashboard match on as the server does', () => {
      for (const { where, expr } of exprs) {
        for (const { metric, matchers } of selectors(expr)) {
          if (metric === 'up' || ENUMERATED[metric]?.outcome) continue;
          for (const { label, op, value } of matchers.filter(
            (matcher) => matcher.label === 'outcome' && (matcher.op === '=' || matcher.op === '!='),
          )) {
            const seen = new Set(
              samples.filter((sample) => sample.name === metric).map((sample) => sample.labels[label]),
            );
            expect({ where, metric, matcher: `${label}${op}"${value}"`, seen: seen.has(value) }).toEqual({
              where,
              metric,
              matcher: `${label}${op}"${value}"`,
              seen: true,
            });
          }
        }
      }
    });

    it('has login duration buckets fine enough for the p50/p99 panels and the latency alert', () => {
      const bucket = `${prometheusName(INSTRUMENTS.loginDuration)}_bucket`;
      const bounds = [
        ...new Set(samples.filter((sample) => sample.name === bucket).map((sample) => Number(sample.labels.le))),
      ].filter(Number.isFinite);
      const thresholds = alerts
        .filter((rule) => rule.expr.includes(bucket))
        .map((rule) => Number(/>\s*([0-9.]+)\s*$/.exec(rule.expr.trim())?.[1]));
      expect(thresholds.length).toBeGreaterThan(0);
      expect({ subSecondBounds: bounds.filter((le) => le > 0 && le < 1).length >= 3 }).toEqual({
        subSecondBounds: true,
      });
      for (const threshold of thresholds)
        expect({
          threshold,
          inside: bounds.some((le) => le > threshold) && bounds.some((le) => le > 0 && le < threshold),
        }).toEqual({ threshold, inside: true });
    });
  });
});
