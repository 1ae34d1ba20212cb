import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseCommandLine } from '@apps/agent/cli';
import { parseServerCommandLine } from '@apps/server/command-line';

/**
 * The systemd units (deploy/systemd) as systemd itself reads them
 * (`systemd-analyze verify`, and `security --offline` for the exposure
 * score), their hardening, and their command lines as the CLIs parse them;
 * the agent's image (deploy/agent/Dockerfile) as the bundle's wrapper.
 */

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

/** Highest exposure `systemd-analyze security` may give a unit (0 to 10; "OK" is below 2). */
const EXPOSURE_BUDGET = 2;

/** `Key=value` lines of a unit, by key, in order (a key may repeat). */
function directives(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) keys.set(match[1]!, [...(keys.get(match[1]!) ?? []), match[2]!]);
  }
  return keys;
}

const HARDENING = {
  DynamicUser: 'yes',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  NoNewPrivileges: 'yes',
  CapabilityBoundingSet: '',
  AmbientCapabilities: '',
  RestrictNamespaces: 'yes',
  RestrictSUIDSGID: 'yes',
  LockPersonality: 'yes',
  SystemCallArchitectures: 'native',
  UMask: '0077',
};

describe.each([
  ['attestd-agent.service', 'attestd-agent'],
  ['attestd.service', 'attestd'],
])('deploy/systemd/%s', (file, stateDirectory) => {
  const path = join(ROOT, 'deploy', 'systemd', file);
  const unit = directives(readFileSync(path, 'utf8'));
  let dir: string;
  let copy: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'attestd-units-'));
    copy = join(dir, file);
    copyFileSync(path, copy);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes systemd-analyze verify without a word', async () => {
    const { stdout, stderr } = await run('systemd-analyze', ['verify', copy]);
    expect({ stdout, stderr }).toEqual({ stdout: '', stderr: '' });
  });

  it(`has an exposure level of at most ${EXPOSURE_BUDGET} in systemd-analyze security`, async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', copy]);
    const level = Number(/Overall exposure level for \S+: ([0-9.]+)/.exec(stdout)?.[1]);
    expect({ level, withinBudget: level <= EXPOSURE_BUDGET }).toEqual({ level, withinBudget: true });
  });

  it('runs as a dynamic user in a read-only system, with no capabilities and a system call filter', () => {
    for (const [key, value] of Object.entries(HARDENING))
      expect({ key, values: unit.get(key) }).toEqual({ key, values: [value] });
    expect(unit.get('SystemCallFilter')).toEqual(['@system-service', '~@privileged @resources']);
    expect(unit.get('RestrictAddressFamilies')).toEqual(['AF_INET AF_INET6 AF_UNIX']);
    expect(unit.get('StateDirectory')).toEqual([stateDirectory]);
    expect(unit.get('StateDirectoryMode')).toEqual(['0700']);
    // exit status 2 is a usage or setting error, which a restart does not mend
    expect(unit.get('Restart')).toEqual(['on-failure']);
    expect(unit.get('RestartPreventExitStatus')).toEqual(['2']);
  });
});

describe('the units’ command lines', () => {
  const execStart = (file: string) =>
    directives(readFileSync(join(ROOT, 'deploy', 'systemd', file), 'utf8'))
      .get('ExecStart')![0]!
      .split(/\s+/);

  it('runs the bundled agent as a renewing daemon writing to its state directory, with the flags agent.env gives', () => {
    const [node, script, ...args] = execStart('attestd-agent.service');
    expect(node).toBe('/usr/bin/node');
    expect(script).toBe('/usr/local/lib/attestd/attestd-agent.js');
    expect(args.slice(-1)).toEqual(['$ATTESTD_AGENT_ARGS']);
    expect(args.join(' ')).toContain('--out ${STATE_DIRECTORY}');
    // systemd splits $ATTESTD_AGENT_ARGS at white space; the header's example
    const example = /ATTESTD_AGENT_ARGS=(.*)$/m
      .exec(readFileSync(join(ROOT, 'deploy', 'systemd', 'attestd-agent.service'), 'utf8'))![1]!
      .split(/\s+/);
    const argv = args.flatMap((arg) =>
      arg === '$ATTESTD_AGENT_ARGS' ? example : [arg.replace('${STATE_DIRECTORY}', '/var/lib/attestd-agent')],
    );
    const command = parseCommandLine(argv, { ATTESTD_JOIN_TOKEN: 'unused' });
    expect(command).toMatchObject({
      name: 'login',
      daemon: true,
      options: { out: '/var/lib/attestd-agent', attestors: ['aws_iid'] },
    });
  });

  it('runs the built server, its key-encryption key a credential it alone can read', () => {
    const [node, ...args] = execStart('attestd.service');
    const main = args.find((arg) => arg.endsWith('.js'))!;
    expect(node).toBe('/usr/bin/node');
    expect(main).toBe('/opt/attestd/dist/apps/server/main.js');
    expect(parseServerCommandLine(args.slice(args.indexOf(main) + 1))).toEqual({ name: 'run' });
    const unit = directives(readFileSync(join(ROOT, 'deploy', 'systemd', 'attestd.service'), 'utf8'));
    const [credential] = unit.get('LoadCredential')![0]!.split(':');
    expect(unit.get('Environment')).toContain(`ATTESTD_KEY_ENCRYPTION_KEY_FILE=%d/${credential}`);
    expect(unit.get('Environment')).toContain('ATTESTD_DATA_DIR=%S/attestd');
  });
});

describe('deploy/agent/Dockerfile', () => {
  const lines = readFileSync(join(ROOT, 'deploy', 'agent', 'Dockerfile'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const finalStage = lines.slice(lines.findLastIndex((line) => line.startsWith('FROM ')));

  it('builds the bundle with npm run build:cli and ships only it, on a small base, as a non-root user', () => {
    expect(lines).toContain('RUN npm run build:cli');
    expect(finalStage[0]).toMatch(/^FROM gcr\.io\/distroless\/nodejs24-debian12:nonroot$/);
    expect(finalStage.filter((line) => line.startsWith('COPY'))).toEqual([
      'COPY --from=build /src/dist/cli/attestd-agent.js /opt/attestd/attestd-agent.js',
    ]);
    expect(finalStage).toContain('USER 65532:65532');
    expect(finalStage).toContain('ENTRYPOINT ["/nodejs/bin/node", "/opt/attestd/attestd-agent.js"]');
  });

  it('is what the chart runs: the image’s user owns the state directory the init container prepares', () => {
    const daemonSet = readFileSync(
      join(ROOT, 'deploy', 'helm', 'attestd', 'templates', 'agent-daemonset.yaml'),
      'utf8',
    );
    expect(daemonSet).toContain('runAsUser: 65532');
    expect(daemonSet).toContain('- /nodejs/bin/node');
  });
});
