// Shared by the eBPF tests: a real monitor collecting events, and a wait for the one a test expects.
import { openMonitor, type Monitor, type MonitorOptions } from '../../src/monitor/index.ts';
import { silentLogger } from '../../src/log.ts';
import type { FileEvent } from '../../src/types.ts';

export interface Collected {
  readonly monitor: Monitor;
  readonly events: FileEvent[];
  /** Resolves with the first event (seen or to come) that matches; rejects after `ms` naming `what`. */
  waitFor(pred: (e: FileEvent) => boolean, what: string, ms?: number): Promise<FileEvent>;
}

export async function collect(opts: Partial<MonitorOptions> = {}): Promise<Collected> {
  const events: FileEvent[] = [];
  const waiters: Array<{ pred: (e: FileEvent) => boolean; resolve: (e: FileEvent) => void }> = [];
  const monitor = await openMonitor({
    logger: silentLogger,
    pathFilter: { passAll: true, exactPaths: [], dirPrefixes: [] },
    processFilter: { pids: [], comms: [], excludePids: [] },
    ...opts,
    onEvent: (e) => {
      events.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(e)) waiters.splice(i, 1)[0]!.resolve(e);
      }
    },
  });
  return {
    monitor,
    events,
    waitFor(pred, what, ms = 5000) {
      const seen = events.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (e: FileEvent) => { clearTimeout(t); resolve(e); } };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no event for ${what} within ${ms} ms (${events.length} events seen)`));
        }, ms);
        waiters.push(w);
      });
    },
  };
}
