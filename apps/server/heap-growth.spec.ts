import { HEAP_GROWING_PERCENT, heapGrowthFlag } from './heap-growth';

describe('the heap growth flag', () => {
  it('lets the old generation grow to three times its live size by default', () => {
    expect(heapGrowthFlag([])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapGrowthFlag(['--enable-source-maps', '--max-old-space-size=4096'])).toBe('--heap-growing-percent=200');
  });

  it.each([
    [['--heap-growing-percent=50']],
    [['--heap_growing_percent=50']],
    [['--inspect', '--heap-growing-percent=30']],
  ])('leaves the operator’s own command-line setting alone (%j)', (execArgv) => {
    expect(heapGrowthFlag(execArgv)).toBeUndefined();
  });
});
