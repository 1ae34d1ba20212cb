/**
 * Throws in the `unit` tier (jest.config.js sets TEST_TIER_ATTESTD there):
 * a unit spec that opens a database or starts a server fails at once, naming
 * the tier it belongs in, instead of making the fast tier slow.
 */
export function refuseInUnitTier(what: string): void {
  if (process.env.TEST_TIER_ATTESTD !== 'unit') return;
  throw new Error(
    `the unit tier starts no ${what}: name the file *.database.spec.ts (a database) or *.server.spec.ts (a server or another process), or put it in test/ as *.test.ts (README, "Tests")`,
  );
}
