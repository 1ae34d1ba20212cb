/**
 * Polls `condition` every 20 ms until it holds, for at most `withinMs`
 * (without it, the test's timeout bounds the wait); whether it held.
 */
export async function until(condition: () => boolean | Promise<boolean>, withinMs = Infinity): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() >= deadline) return false;
    await new Promise((done) => setTimeout(done, 20));
  }
  return true;
}
