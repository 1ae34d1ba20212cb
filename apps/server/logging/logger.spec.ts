import { Writable } from 'node:stream';
import { createLogger } from './logger';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it("never logs a database error's bound values, at any depth, but keeps its message, code and query", () => {
    const { lines, stream } = capture();
    const error = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      code: '22021',
      query: 'INSERT INTO audit_events (reason) VALUES ($1)',
      params: ['k8s_psat: no signing key a\u0000b', 'nonce-secret'],
      cause: Object.assign(new Error('driver'), { parameters: ['nonce-secret'], values: ['nonce-secret'] }),
    });
    createLogger('info', stream).error({ err: error }, 'unhandled error');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('nonce-secret');
    expect(text).not.toContain('no signing key');
    expect(lines[0]).toMatchObject({
      err: { message: expect.stringContaining(error.message), code: '22021', query: error.query },
    });
  });

  it('censors secret fields at the top level, one level down and in request headers, without touching the logged object', () => {
    const { lines, stream } = capture();
    const logged = {
      token: 'top-secret',
      body: { csr: 'csr-secret', proofs: { aws_iid: 'proof-secret' }, kept: 'visible' },
      req: { method: 'POST', headers: { authorization: 'Bearer header-secret', host: 'attestd' } },
      agentId: 'agent-1',
    };
    const before = JSON.stringify(logged);
    createLogger('info', stream).info(logged, 'request');
    const text = JSON.stringify(lines);
    for (const secret of ['top-secret', 'csr-secret', 'proof-secret', 'header-secret'])
      expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({
      token: '[redacted]',
      body: { csr: '[redacted]', proofs: '[redacted]', kept: 'visible' },
      req: { headers: { authorization: '[redacted]', host: 'attestd' } },
      agentId: 'agent-1',
    });
    expect(JSON.stringify(logged)).toBe(before);
  });

  it('censors a secret field an error carries', () => {
    const { lines, stream } = capture();
    createLogger('info', stream).error(
      { err: Object.assign(new Error('refused'), { token: 'error-secret' }) },
      'failed',
    );
    expect(JSON.stringify(lines)).not.toContain('error-secret');
    expect(lines[0]).toMatchObject({ err: { message: 'refused', token: '[redacted]' } });
  });
});
