// The small test harness the extension's test entries share (index.ts, board.ts): named tests
// that print "ok - " / "not ok - " lines, a pass/fail count, and polling with a deadline.

/** The extension's id. */
export const EXT_ID = 'natmod-lsp.natmod-lsp';
/** How long to wait for the server per step (NATMOD_TEST_TIMEOUT seconds, default 60). */
export const TIMEOUT_MS = Number(process.env.NATMOD_TEST_TIMEOUT || 60) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Tests passed and failed so far. */
export const results = { passed: 0, failed: 0 };

/** Runs one named test; a throw fails it (and the run goes on). */
export async function test(name: string, fn: () => Promise<void>) {
  const t0 = Date.now();
  try {
    await fn();
    results.passed++;
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.failed++;
    console.error(`not ok - ${name} (${Date.now() - t0} ms)\n    ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** `what()` every 100 ms until it is not undefined or `ms` have passed. */
export async function poll<T>(what: () => T | undefined, ms = TIMEOUT_MS): Promise<T | undefined> {
  for (const end = Date.now() + ms; ; await sleep(100)) {
    const v = what();
    if (v !== undefined || Date.now() > end) return v;
  }
}

/** Prints the count; throws (failing the run) when a test failed. */
export function finish() {
  console.log(`${results.passed} passed, ${results.failed} failed`);
  if (results.failed) throw new Error(`${results.failed} test(s) failed`);
}
