import { nextKeyChange, planKeys, tickMilliseconds, type ScheduledKey } from './key-schedule';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const key = (id: string, activates: number, notAfter: number, algorithm = 'RS256'): ScheduledKey => ({
  id,
  algorithm,
  activatesAt: at(activates),
  notAfter: at(notAfter),
});
const rotation = { periodSeconds: 100, algorithm: 'RS256' };

describe('the key schedule', () => {
  it('makes a first key that signs at once', () => {
    expect(planKeys([], at(0), rotation)).toEqual({
      current: undefined,
      next: undefined,
      published: [],
      make: { activatesAt: at(0) },
    });
  });

  it('makes nothing during the first half of a period', () => {
    const a = key('a', 0, 1000);
    expect(planKeys([a], at(49), rotation)).toEqual({ current: a, next: undefined, published: [a] });
  });

  it('makes the next key half a period before it is to sign', () => {
    expect(planKeys([key('a', 0, 1000)], at(50), rotation).make).toEqual({ activatesAt: at(100) });
  });

  it('publishes the next key without signing with it until it activates', () => {
    const a = key('a', 0, 1000);
    const b = key('b', 100, 1100);
    expect(planKeys([a, b], at(99), rotation)).toEqual({ current: a, next: b, published: [a, b] });
    expect(planKeys([a, b], at(100), rotation)).toEqual({ current: b, next: undefined, published: [b, a] });
  });

  it('keeps a retired key published until its notAfter, then drops it', () => {
    const a = key('a', 0, 130);
    const b = key('b', 100, 230);
    expect(planKeys([a, b], at(129), rotation).published).toEqual([b, a]);
    expect(planKeys([a, b], at(130), rotation).published).toEqual([b]);
  });

  it('makes a key that signs at once when the next one is overdue', () => {
    expect(planKeys([key('a', 0, 1000)], at(150), rotation).make).toEqual({ activatesAt: at(150) });
  });

  it('signs only with keys of the configured algorithm, and keeps publishing the others', () => {
    const rs = key('rs', 0, 1000, 'RS256');
    const plan = planKeys([rs], at(10), { periodSeconds: 100, algorithm: 'ES256' });
    expect(plan).toEqual({ current: undefined, next: undefined, published: [rs], make: { activatesAt: at(10) } });
  });

  it('tells when the signing key or the published set next changes, and the plan holds until then', () => {
    const keys = [key('a', 0, 130), key('b', 100, 230)];
    expect(nextKeyChange(keys, at(50))).toBe(at(100).getTime());
    expect(nextKeyChange(keys, at(100))).toBe(at(130).getTime());
    expect(nextKeyChange(keys, at(230))).toBe(Infinity);
    for (const [from, until] of [
      [50, 100],
      [100, 130],
      [130, 230],
    ] as const) {
      const { current, published } = planKeys(keys, at(from), rotation);
      expect(planKeys(keys, new Date(at(until).getTime() - 1), rotation)).toMatchObject({ current, published });
      expect(planKeys(keys, at(until), rotation).published).not.toEqual(published);
    }
  });

  it('re-plans often enough for the shortest period, within bounds', () => {
    expect(tickMilliseconds(86_400, 3600)).toBe(450_000);
    expect(tickMilliseconds(31_536_000)).toBe(600_000);
    expect(tickMilliseconds(1)).toBe(250);
  });
});
