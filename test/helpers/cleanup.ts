// Cleanup that always runs (the rules are in scripts/run-tests.sh). Node's test runner stops at
// the first t.after hook that throws and skips the later ones, so a failed assertion in one hook
// could leave an agent running and the test file never ending. defer() keeps one list per test and
// runs it from a single hook: last registered first, each step bounded in time, every step even
// when an earlier one throws or hangs; then the test fails with every step's error, each named.
import type { ChildProcess } from 'node:child_process';

/** How long one cleanup step may take unless it says otherwise. */
export const CLEANUP_STEP_MS = 30_000;

/** What defer() needs of a test: node:test's TestContext, or anything with its `after`. */
export interface HasAfter { after(fn: () => unknown, options?: { timeout?: number }): void }

interface Step { readonly what: string; readonly fn: () => unknown; readonly ms: number }

const steps = new WeakMap<HasAfter, Step[]>();

/** Runs `fn` when `t` ends (pass, fail or time-out); `what` names it in a failure. */
export function defer(t: HasAfter, what: string, fn: () => unknown, ms = CLEANUP_STEP_MS): void {
  let list = steps.get(t);
  if (list === undefined) {
    const mine: Step[] = [];
    list = mine;
    steps.set(t, mine);
    // Each step is bounded below, so the hook as a whole needs no bound of its own.
    t.after(async () => {
      const errors: Error[] = [];
      for (const step of mine.reverse()) {
        try {
          await bounded(step);
        } catch (err) {
          errors.push(new Error(`cleanup "${step.what}": ${(err as Error)?.message ?? String(err)}`, { cause: err }));
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
    }, { timeout: Infinity });
  }
  list.push({ what, fn, ms });
}

async function bounded(step: Step): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${step.ms} ms`)), step.ms);
  });
  try {
    await Promise.race([Promise.resolve().then(step.fn), late]);
  } finally {
    clearTimeout(timer);
  }
}

const children = new Set<ChildProcess>();
let hooked = false;

/**
 * Kills `child` (SIGKILL) when this process exits, if it is still running then: the last line of
 * defence when hooks did not run. Returns the child.
 */
export function killOnExit<C extends ChildProcess>(child: C): C {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
