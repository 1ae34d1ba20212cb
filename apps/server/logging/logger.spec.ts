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
    expect(lines[0]).toMatchObject({ err: { message: expect.stringContaining(error.message), code: '22021', query: error.query } });
  });
});
