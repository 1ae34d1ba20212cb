import fc from 'fast-check';
import { clean, formatTime, renderTable, shortSha } from './table';

describe('renderTable', () => {
  it('aligns columns two spaces apart and leaves the last column unpadded', () => {
    expect(
      renderTable(
        ['ID', 'STATUS', 'SPIFFE ID'],
        [
          ['a1', 'active', 'spiffe://example.org/a'],
          ['b22222', 'banned', 'spiffe://example.org/b'],
        ],
      ),
    ).toBe(
      [
        'ID      STATUS  SPIFFE ID',
        'a1      active  spiffe://example.org/a',
        'b22222  banned  spiffe://example.org/b',
        '',
      ].join('\n'),
    );
  });

  it('prints only the header for no rows', () => {
    expect(renderTable(['VERSION', 'SHA256'], [])).toBe('VERSION  SHA256\n');
  });

  it('leaves the header out on request and keeps minimum widths, so later batches line up', () => {
    const columns = [{ header: 'AT', width: 6 }, { header: 'EVENT' }];
    expect(renderTable(columns, [['t1', 'ban']], { header: false })).toBe('t1      ban\n');
  });

  it('cuts a cell longer than its column maximum', () => {
    expect(renderTable([{ header: 'REASON', max: 8 }], [['a very long reason']])).toBe('REASON\na very …\n');
  });

  it('removes control characters a server could use to rewrite the terminal', () => {
    expect(renderTable(['A', 'B'], [['x\u001b[2J', 'y\nz']])).toBe('A      B\nx [2J  y z\n');
  });

  it('gives every line the same column starts, whatever the cells (property)', () => {
    const cell = fc.string({ maxLength: 12 }).map((s) => s.replace(/[^a-z0-9 ]/g, 'x').trim() || 'x');
    fc.assert(
      fc.property(fc.array(fc.tuple(cell, cell, cell), { maxLength: 8 }), (rows) => {
        const lines = renderTable(['ONE', 'TWO', 'THREE'], rows).trimEnd().split('\n');
        expect(lines).toHaveLength(rows.length + 1);
        const second = lines[0]!.indexOf('TWO');
        const third = lines[0]!.indexOf('THREE');
        rows.forEach((row, i) => {
          expect(lines[i + 1]!.slice(second, second + row[1].length)).toBe(row[1]);
          expect(lines[i + 1]!.slice(third)).toBe(row[2]);
        });
      }),
    );
  });

  it('never lets a control character through (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(clean(text)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      }),
    );
  });
});

describe('formatting', () => {
  it('drops milliseconds from times and shows - for none', () => {
    expect(formatTime('2025-03-01T10:00:00.123Z')).toBe('2025-03-01T10:00:00Z');
    expect(formatTime(null)).toBe('-');
  });

  it('shortens a sha256 to 12 hex digits', () => {
    expect(shortSha('0123456789abcdef'.repeat(4))).toBe('0123456789ab');
  });
});
