import { documentTypeOf, readDocumentFile } from './documents';
import { CommandFailed } from './errors';

const from = (text: string) => async () => text;

async function failureOf(promise: Promise<unknown>): Promise<CommandFailed> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CommandFailed) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('readDocumentFile', () => {
  it('reads the section from the document and the type from the extension', async () => {
    expect(await readDocumentFile('p.yaml', from('section: AgentAttestation\nschema: v1\n'))).toEqual({
      file: 'p.yaml',
      text: 'section: AgentAttestation\nschema: v1\n',
      type: 'yaml',
      section: 'AgentAttestation',
    });
    expect(await readDocumentFile('k.JSON', from('{"section": "KubernetesClusters"}'))).toMatchObject({
      type: 'json',
      section: 'KubernetesClusters',
    });
  });

  it('treats every extension but .json as YAML', () => {
    expect(['a.yml', 'a.yaml', 'a', 'a.txt'].map(documentTypeOf)).toEqual(['yaml', 'yaml', 'yaml', 'yaml']);
  });

  it('finds the section even when the rest of the document is broken, for the validator to place', async () => {
    expect(await readDocumentFile('p.yaml', from('section: AgentAttestation\nspec: [unclosed\n'))).toMatchObject({
      section: 'AgentAttestation',
    });
  });

  it('does not expand aliases while looking for the section', async () => {
    const bomb = ['section: AgentAttestation', 'a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 9; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${`*${String.fromCharCode(97 + i)},`.repeat(9)}]`,
      );
    expect(await readDocumentFile('bomb.yaml', from(bomb.join('\n')))).toMatchObject({ section: 'AgentAttestation' });
  });

  it('fails naming the file when it has no section field', async () => {
    const failure = await failureOf(readDocumentFile('p.yaml', from('schema: v1\n')));
    expect(failure.message).toBe(
      'p.yaml has no section: field (sections: AgentAttestation, AwsIidCertificates, KubernetesClusters)',
    );
  });

  it('fails on an unknown section', async () => {
    const failure = await failureOf(readDocumentFile('p.yaml', from('section: Policies\n')));
    expect(failure.message).toBe(
      'p.yaml: unknown section "Policies" (sections: AgentAttestation, AwsIidCertificates, KubernetesClusters)',
    );
  });

  it('places YAML errors when the section cannot be read', async () => {
    const failure = await failureOf(readDocumentFile('p.yaml', from('a: 1\n  b: [\n')));
    expect(failure.message).toBe('p.yaml is not a YAML or JSON document');
    expect(failure.lines[0]).toMatch(/^p\.yaml:\d+:\d+ /);
  });

  it('fails naming the file when it cannot be read', async () => {
    const failure = await failureOf(
      readDocumentFile('missing.yaml', () =>
        Promise.reject(Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' })),
      ),
    );
    expect(failure.message).toBe('cannot read missing.yaml: ENOENT: no such file or directory');
  });

  it('refuses a file larger than the server takes', async () => {
    const failure = await failureOf(
      readDocumentFile('big.yaml', from(`section: AgentAttestation\n#${'x'.repeat(1024 * 1024)}`)),
    );
    expect(failure.message).toBe('big.yaml is larger than 1048576 bytes, the most attestd takes');
  });
});
