// Alerts as JSON lines in KubeArmor's shape on standard output (for kubectl logs, Fluent Bit's
// tail input, the Collector's filelog receiver). Writes go through an fs stream on fd 1, so a slow
// reader never blocks the event loop (Node writes pipes synchronously on Linux through
// process.stdout); at most `maxBytes` wait for the reader, beyond that lines are dropped and counted.
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/** Invariant: offered = written + dropped.queue_full + dropped.shutdown + pending. */
export interface StdoutCounters {
  offered: number;
  written: number;
  dropped: { queue_full: number; shutdown: number };
  pending: number;
}

export class StdoutSink {
  readonly #out: Writable;
  readonly #maxBytes: number;
  readonly #counters: StdoutCounters = { offered: 0, written: 0, dropped: { queue_full: 0, shutdown: 0 }, pending: 0 };
  #closing = false;
  #frozen = false;
  #closed: Promise<void> | undefined;

  constructor(maxBytes: number, out?: Writable) {
    this.#maxBytes = maxBytes;
    this.#out = out ?? createWriteStream('', { fd: 1, autoClose: false });
    this.#out.on('error', () => { /* counted per write in the callback */ });
  }

  counters(): StdoutCounters {
    return { ...this.#counters, dropped: { ...this.#counters.dropped } };
  }

  /** Queues one line (ending in a newline; see kubearmor.ts alertLine). */
  write(line: string): void {
    const c = this.#counters;
    c.offered++;
    if (this.#closing) { c.dropped.shutdown++; return; }
    if (this.#out.writableLength + line.length > this.#maxBytes) { c.dropped.queue_full++; return; }
    c.pending++;
    this.#out.write(line, (err) => {
      if (this.#frozen) return;
      c.pending--;
      if (err) c.dropped.shutdown++;
      else c.written++;
    });
  }

  /** Waits (at most `deadlineMs`) for queued lines to reach the reader; what is left counts as dropped{shutdown}. */
  close(deadlineMs: number): Promise<void> {
    this.#closed ??= this.#close(deadlineMs);
    return this.#closed;
  }

  async #close(deadlineMs: number): Promise<void> {
    this.#closing = true;
    if (this.#counters.pending === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => {
        const check = (): void => { if (this.#counters.pending === 0) resolve(true); else setTimeout(check, 20).unref(); };
        check();
      }),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), deadlineMs); }),
    ]);
    clearTimeout(timer);
    if (!drained) {
      // Lines still waiting are not confirmed by the deadline: count them, and ignore late callbacks.
      this.#frozen = true;
      this.#counters.dropped.shutdown += this.#counters.pending;
      this.#counters.pending = 0;
    }
  }
}
