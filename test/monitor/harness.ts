// Shared by the eBPF tests: a real monitor collecting events, and a wait for the one a test expects.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { openMonitor, type Monitor, type MonitorOptions } from '../../src/monitor/index.ts';
import { silentLogger } from '../../src/log.ts';
import { RING_BUFFER_DEFAULT } from '../../src/config/parse.ts';
import type { ExecEvent, FileEvent, NetworkEvent } from '../../src/types.ts';

export interface Collected {
  readonly monitor: Monitor;
  readonly events: FileEvent[];
  /** Executions seen (the default filter passes them all). */
  readonly execs: ExecEvent[];
  waitForExec(pred: (e: ExecEvent) => boolean, what: string, ms?: number): Promise<ExecEvent>;
  /** Network calls seen (only when the filter passes them: `network` in the path filter). */
  readonly nets: NetworkEvent[];
  waitForNet(pred: (e: NetworkEvent) => boolean, what: string, ms?: number): Promise<NetworkEvent>;
  /** Resolves with the first event (seen or to come) that matches; rejects after `ms` naming `what`. */
  waitFor(pred: (e: FileEvent) => boolean, what: string, ms?: number): Promise<FileEvent>;
}

export async function collect(opts: Partial<MonitorOptions> = {}): Promise<Collected> {
  const files = new Stream<FileEvent>();
  const execs = new Stream<ExecEvent>();
  const nets = new Stream<NetworkEvent>();
  const monitor = await openMonitor({
    logger: silentLogger,
    ringbufBytes: RING_BUFFER_DEFAULT,
    pathFilter: { passAll: true, exactPaths: [], dirPrefixes: [], exec: { passAll: true, paths: [], dirs: [], names: [] } },
    processFilter: { pids: [], comms: [], excludePids: [] },
    ...opts,
    onEvent: (e) => files.push(e),
    onExec: (e) => execs.push(e),
    onNetwork: (e) => nets.push(e),
  });
  return {
    monitor,
    events: files.seen,
    execs: execs.seen,
    waitFor: (pred, what, ms) => files.waitFor(pred, what, ms),
    waitForExec: (pred, what, ms) => execs.waitFor(pred, what, ms),
    nets: nets.seen,
    waitForNet: (pred, what, ms) => nets.waitFor(pred, what, ms),
  };
}

/** Events of one kind as they come, and waits for the one a test expects. */
class Stream<E> {
  readonly seen: E[] = [];
  readonly #waiters: Array<{ pred: (e: E) => boolean; resolve: (e: E) => void }> = [];

  push(e: E): void {
    this.seen.push(e);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.#waiters[i]!.pred(e)) this.#waiters.splice(i, 1)[0]!.resolve(e);
    }
  }

  waitFor(pred: (e: E) => boolean, what: string, ms = 5000): Promise<E> {
    const found = this.seen.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: E) => { clearTimeout(t); resolve(e); } };
      const t = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`no event for ${what} within ${ms} ms (${this.seen.length} events seen)`));
      }, ms);
      this.#waiters.push(w);
    });
  }
}

/** Runs cmd to its end (stdio ignored) and returns its pid, for matching the events it caused. */
export function run(cmd: string, args: string[], cwd = '/', env?: NodeJS.ProcessEnv): number {
  const r = spawnSync(cmd, args, { cwd, stdio: 'ignore', ...(env === undefined ? {} : { env }) });
  assert.ok(r.pid !== undefined && r.pid > 0, `${cmd} did not start`);
  return r.pid;
}
