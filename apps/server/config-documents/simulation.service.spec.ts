import { simulationLimit } from './simulation.service';

describe('simulationLimit', () => {
  it('defaults to 1000 and accepts 1 to 10000', () => {
    expect([simulationLimit(undefined), simulationLimit('1'), simulationLimit('10000')]).toEqual([1000, 1, 10000]);
  });

  it.each(['0', '10001', '-1', '1.5', 'all', ''])('refuses %j with invalid_request', (text) => {
    expect(() => simulationLimit(text)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});
