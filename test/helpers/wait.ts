// Waiting for something a test expects to happen (a record at the Collector, a line in a log).

/**
 * Calls `probe` every `intervalMs` until it gives a value, and returns it; after `timeoutMs`, throws
 * an error that names `what` (and adds `detail()`, e.g. the tail of an agent's log, when given).
 */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>,
  opts: { readonly intervalMs?: number; readonly detail?: () => string } = {}): Promise<T> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100))) {
    const v = await probe();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}${opts.detail === undefined ? '' : `; ${opts.detail()}`}`);
}
