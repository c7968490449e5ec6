// Repeated warnings, rate-limited: with containerd unreachable every new container's events would
// each log the same failure. The first occurrence of a warning is logged; repeats within the
// interval are only counted, and the next one logged after it says how many were suppressed.
import type { Logger } from '../log.ts';

export class WarningLimiter {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #state = new Map<string, { lastAt: number; suppressed: number }>();
  #suppressedTotal = 0;

  constructor(log: Logger, intervalMs = 60_000, now: () => number = Date.now) {
    this.#log = log;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Logs `msg` at warn level unless the same message was logged less than intervalMs ago. */
  warn(fields: Record<string, unknown>, msg: string): void {
    const now = this.#now();
    const s = this.#state.get(msg);
    if (s !== undefined && now - s.lastAt < this.#intervalMs) {
      s.suppressed++;
      this.#suppressedTotal++;
      return;
    }
    const suppressed = s?.suppressed ?? 0;
    this.#state.set(msg, { lastAt: now, suppressed: 0 });
    this.#log.warn(suppressed > 0 ? { ...fields, suppressedSinceLast: suppressed } : fields,
      s === undefined ? msg : `${msg} (repeats at most once per ${Math.round(this.#intervalMs / 1000)} s)`);
  }

  /** Warnings not logged so far because of the limit. */
  get suppressed(): number {
    return this.#suppressedTotal;
  }
}
