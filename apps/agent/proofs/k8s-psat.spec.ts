import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CollectorSettingsError } from './collector';
import { k8sPsatCollector } from './k8s-psat';
import { temporaryDirectories } from '@test/support/temp-directories';

describe('k8s_psat collector', () => {
  const dir = temporaryDirectories()('k8s-psat-');

  it('sends the cluster name and the token read from the file, without its trailing newline', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'header.payload.signature\n');
    await expect(k8sPsatCollector({ k8sCluster: 'web', k8sTokenFile: file }).collect({})).resolves.toEqual({
      cluster: 'web',
      token: 'header.payload.signature',
    });
  });

  it('reads the file anew at each login, as the kubelet rotates it', async () => {
    const file = join(dir, 'rotating');
    const collector = k8sPsatCollector({ k8sCluster: 'web', k8sTokenFile: file });
    writeFileSync(file, 'first');
    await collector.collect({});
    writeFileSync(file, 'second');
    await expect(collector.collect({})).resolves.toMatchObject({ token: 'second' });
  });

  it('needs a cluster name', () => {
    expect(() => k8sPsatCollector({})).toThrow(CollectorSettingsError);
  });

  it('names the missing file, never a token', async () => {
    await expect(
      k8sPsatCollector({ k8sCluster: 'web', k8sTokenFile: join(dir, 'absent') }).collect({}),
    ).rejects.toThrow(/k8s_psat: cannot read the service-account token file .*absent: ENOENT/);
  });

  it('refuses an empty file', async () => {
    const file = join(dir, 'empty');
    writeFileSync(file, '\n');
    await expect(k8sPsatCollector({ k8sCluster: 'web', k8sTokenFile: file }).collect({})).rejects.toThrow(/is empty/);
  });

  it('reads the default path when no file is given', async () => {
    await expect(k8sPsatCollector({ k8sCluster: 'web' }).collect({})).rejects.toThrow(
      '/var/run/secrets/tokens/attestd',
    );
  });
});
