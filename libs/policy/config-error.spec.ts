import { formatConfigError, MAX_REPORTED_ERRORS, reportedConfigErrors, sortConfigErrors } from './config-error';

describe('formatConfigError', () => {
  const error = {
    path: '/spec/policies/0/requiredAttestors/0/type',
    line: 12,
    column: 9,
    message: 'must be one of aws_iid, aws_iam',
  };

  it('writes FILE:LINE:COL /pointer: message', () => {
    expect(formatConfigError(error, 'policies.yaml')).toBe(
      'policies.yaml:12:9 /spec/policies/0/requiredAttestors/0/type: must be one of aws_iid, aws_iam',
    );
  });

  it('writes LINE:COL without a file name', () => {
    expect(formatConfigError(error)).toBe(
      '12:9 /spec/policies/0/requiredAttestors/0/type: must be one of aws_iid, aws_iam',
    );
  });

  it('writes only the file when the position is unknown', () => {
    expect(formatConfigError({ path: '/spec', message: 'm' }, 'p.yaml')).toBe('p.yaml /spec: m');
  });

  it('writes / for the document root', () => expect(formatConfigError({ path: '', message: 'm' })).toBe('/: m'));
});

describe('sortConfigErrors', () => {
  it('orders by position, unplaced errors last, and drops duplicates', () => {
    const sorted = sortConfigErrors([
      { path: '/b', message: 'x' },
      { path: '/c', line: 3, column: 1, message: 'x' },
      { path: '/a', line: 1, column: 5, message: 'x' },
      { path: '/a', line: 1, column: 5, message: 'x' },
    ]);
    expect(sorted.map((e) => e.path)).toEqual(['/a', '/c', '/b']);
  });
});

describe('reportedConfigErrors', () => {
  it('lists the first MAX_REPORTED_ERRORS in document order and says how many more there are', () => {
    const errors = Array.from({ length: MAX_REPORTED_ERRORS + 250 }, (_, i) => ({
      path: `/x/${i}`,
      line: MAX_REPORTED_ERRORS + 250 - i,
      message: 'must be object',
    }));
    const reported = reportedConfigErrors(errors);
    expect(reported).toHaveLength(MAX_REPORTED_ERRORS + 1);
    expect(reported[0]).toMatchObject({ line: 1 });
    expect(reported.at(-1)).toEqual({ path: '', message: '250 more errors are not listed' });
  });
});
