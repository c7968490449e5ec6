// A LogRecordProcessor that loses nothing silently, in front of an OTLP exporter. The SDK's
// BatchLogRecordProcessor drops when full without a word and the gRPC exporter never retries;
// this one holds a bounded queue (records AND estimated bytes), exports batches (a few at a time),
// retries retryable failures with exponential backoff and jitter, and counts every record that
// does not reach the backend, by reason. Delivery is at-least-once: a batch whose export timed out
// after the backend had received it is sent again (the only source of duplicates).
import type { ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, LogRecordProcessor, ReadableLogRecord, SdkLogRecord } from './sdk.ts';
import type { Logger } from '../log.ts';
import { backoffDelay, certificateError, classifyExportError, describeExportError, DEFAULT_BACKOFF, type BackoffPolicy } from './retry.ts';

export interface ProcessorOptions {
  /** Most records held (queued + being exported). */
  readonly maxQueueRecords: number;
  /** Most estimated encoded bytes held (queued + being exported). */
  readonly maxQueueBytes: number;
  readonly maxBatchRecords: number;
  /** How long a partial batch may wait for company before it is sent. */
  readonly batchDelayMs: number;
  readonly maxConcurrentExports: number;
  /** Give a batch up (dropped: retry_exhausted) once it has been retried this long; 0 = never. */
  readonly retryMaxElapsedMs: number;
  readonly backoff: BackoffPolicy;
  /** Told the duration of every export request (src/metrics). */
  readonly onExportRequest?: (seconds: number, ok: boolean) => void;
}

export const DEFAULT_PROCESSOR_OPTIONS: ProcessorOptions = {
  maxQueueRecords: 50_000,
  maxQueueBytes: 32 * 1024 * 1024,
  maxBatchRecords: 1024,
  batchDelayMs: 200,
  maxConcurrentExports: 2,
  retryMaxElapsedMs: 300_000,
  backoff: DEFAULT_BACKOFF,
};

export type DropReason = 'queue_full' | 'rejected' | 'retry_exhausted' | 'shutdown';

/**
 * Invariant: offered = accepted + dropped.queue_full, and
 * accepted = exported + dropped.rejected + dropped.retry_exhausted + dropped.shutdown + queued + inFlight.
 */
export interface ExportCounters {
  offered: number;
  accepted: number;
  exported: number;
  /** Records sent again (a batch of n retried twice counts 2n). */
  retried: number;
  dropped: Record<DropReason, number>;
  queued: number;
  inFlight: number;
  /** Estimated bytes of the records queued and in flight (bounded by maxQueueBytes). */
  heldBytes: number;
  /** Batches refused because the backend's TLS certificate was not accepted (also in dropped.rejected). */
  certificateErrors: number;
}

interface Batch {
  readonly records: ReadableLogRecord[];
  readonly bytes: number;
  abandoned: boolean;
  wake: (() => void) | undefined;
}

/** Rough size of a record on the wire, to bound memory by bytes as well as by count. */
export function estimateRecordBytes(rec: ReadableLogRecord): number {
  let n = 64 + (typeof rec.body === 'string' ? rec.body.length : 64);
  const attrs = rec.attributes;
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined) continue;
    n += key.length + 8;
    if (typeof v === 'string') n += v.length;
    else if (Array.isArray(v)) for (const x of v) n += typeof x === 'string' ? x.length + 2 : 9;
    else n += 9;
  }
  return n;
}

export class ReliableLogRecordProcessor implements LogRecordProcessor {
  readonly #exporter: LogRecordExporter;
  readonly #opts: ProcessorOptions;
  readonly #log: Logger;
  readonly #counters: ExportCounters = {
    offered: 0, accepted: 0, exported: 0, retried: 0,
    dropped: { queue_full: 0, rejected: 0, retry_exhausted: 0, shutdown: 0 },
    queued: 0, inFlight: 0, heldBytes: 0, certificateErrors: 0,
  };
  // FIFO of waiting records: items[head..] are live; compacted now and then instead of shift().
  #items: ReadableLogRecord[] = [];
  #sizes: number[] = [];
  #head = 0;
  #heldBytes = 0;
  readonly #active = new Set<Batch>();
  #timer: NodeJS.Timeout | undefined;
  #due = false;
  #flushWaiters: Array<() => void> = [];
  #closing = false;
  #closed: Promise<void> | undefined;
  #failing = false;

  constructor(exporter: LogRecordExporter, log: Logger, opts: Partial<ProcessorOptions> = {}) {
    this.#exporter = exporter;
    this.#log = log;
    this.#opts = { ...DEFAULT_PROCESSOR_OPTIONS, ...opts };
  }

  counters(): ExportCounters {
    const c = this.#counters;
    return { ...c, dropped: { ...c.dropped }, queued: this.#items.length - this.#head, inFlight: this.#inFlightRecords(), heldBytes: this.#heldBytes };
  }

  onEmit(rec: SdkLogRecord): void {
    const c = this.#counters;
    c.offered++;
    if (this.#closing) { c.dropped.shutdown++; c.accepted++; return; }
    const bytes = estimateRecordBytes(rec);
    const held = this.#items.length - this.#head + this.#inFlightRecords();
    if (held >= this.#opts.maxQueueRecords || this.#heldBytes + bytes > this.#opts.maxQueueBytes) {
      c.dropped.queue_full++;
      return;
    }
    c.accepted++;
    this.#items.push(rec);
    this.#sizes.push(bytes);
    this.#heldBytes += bytes;
    this.#pump();
  }

  /** Sends everything queued now and resolves once nothing is queued or in flight. */
  forceFlush(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#flushWaiters.push(resolve);
      this.#due = true;
      this.#pump();
    });
  }

  shutdown(): Promise<void> {
    return this.drain(30_000);
  }

  /**
   * Stops taking records, sends what is held for at most `deadlineMs`, then counts whatever is
   * still queued or unconfirmed as dropped{shutdown} and closes the exporter. Idempotent.
   */
  drain(deadlineMs: number): Promise<void> {
    this.#closed ??= this.#drain(deadlineMs);
    return this.#closed;
  }

  async #drain(deadlineMs: number): Promise<void> {
    this.#closing = true;
    this.#due = true;
    this.#pump();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.forceFlush().then(() => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), deadlineMs); }),
    ]);
    clearTimeout(timer);
    if (timedOut) this.#abandonAll();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await Promise.race([this.#exporter.shutdown().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  #abandonAll(): void {
    const c = this.#counters;
    const queued = this.#items.length - this.#head;
    c.dropped.shutdown += queued + this.#inFlightRecords();
    for (const b of this.#active) { b.abandoned = true; b.wake?.(); }
    this.#active.clear();
    this.#items = [];
    this.#sizes = [];
    this.#head = 0;
    this.#heldBytes = 0;
    this.#settleFlush();
  }

  #inFlightRecords(): number {
    let n = 0;
    for (const b of this.#active) n += b.records.length;
    return n;
  }

  #idle(): boolean {
    return this.#items.length === this.#head && this.#active.size === 0;
  }

  #pump(): void {
    const o = this.#opts;
    while (this.#active.size < o.maxConcurrentExports) {
      const queued = this.#items.length - this.#head;
      if (queued === 0 || (queued < o.maxBatchRecords && !this.#due)) break;
      this.#startBatch();
    }
    const queued = this.#items.length - this.#head;
    if (queued === 0) this.#due = false;
    else if (!this.#due && this.#timer === undefined) {
      this.#timer = setTimeout(() => { this.#timer = undefined; this.#due = true; this.#pump(); }, o.batchDelayMs);
      this.#timer.unref();
    }
  }

  #startBatch(): void {
    const n = Math.min(this.#opts.maxBatchRecords, this.#items.length - this.#head);
    const records = this.#items.slice(this.#head, this.#head + n);
    let bytes = 0;
    for (let i = this.#head; i < this.#head + n; i++) bytes += this.#sizes[i] as number;
    this.#head += n;
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
    const batch: Batch = { records, bytes, abandoned: false, wake: undefined };
    this.#active.add(batch);
    void this.#send(batch);
  }

  async #send(batch: Batch): Promise<void> {
    const c = this.#counters;
    const n = batch.records.length;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const result = await this.#exportOnce(batch.records);
      if (batch.abandoned) return; // already counted as dropped{shutdown}
      if (result.code === 0) {
        c.exported += n;
        if (this.#failing) { this.#failing = false; this.#log.info({ exported: c.exported }, 'export: backend reachable again'); }
        break;
      }
      const verdict = classifyExportError(result.error);
      const why = describeExportError(result.error);
      if (verdict === 'permanent') {
        c.dropped.rejected += n;
        const tls = certificateError(result.error);
        if (tls !== null) {
          // A configuration error, the same for every batch: said once, clearly; counted always.
          c.certificateErrors++;
          if (c.certificateErrors === 1) {
            this.#log.error({ records: n, error: tls }, 'export: the backend\'s TLS certificate is not trusted (wrong CA, expired, or wrong host name); batches are dropped, not retried, until it is fixed: check --otlp-certificate / OTEL_EXPORTER_OTLP_CERTIFICATE and the endpoint. Logged once; counted in certificateErrors and dropped.rejected');
          } else {
            this.#log.debug({ records: n, error: tls }, 'export: TLS certificate not trusted; batch dropped');
          }
          break;
        }
        this.#log.error({ records: n, error: why }, 'export: backend rejected a batch (not retryable); dropped');
        break;
      }
      const delay = backoffDelay(this.#opts.backoff, attempt);
      const limit = this.#opts.retryMaxElapsedMs;
      if (limit > 0 && Date.now() + delay - started > limit) {
        c.dropped.retry_exhausted += n;
        this.#log.error({ records: n, error: why, retriedForMs: Date.now() - started }, 'export: gave a batch up after retrying; dropped');
        break;
      }
      if (!this.#failing) { this.#failing = true; this.#log.warn({ error: why, retryInMs: delay }, 'export failed; retrying with backoff'); }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { batch.wake = undefined; resolve(); }, delay);
        batch.wake = () => { clearTimeout(t); resolve(); };
      });
      if (batch.abandoned) return;
      c.retried += n;
    }
    this.#active.delete(batch);
    this.#heldBytes -= batch.bytes;
    this.#pump();
    if (this.#idle()) this.#settleFlush();
  }

  #exportOnce(records: ReadableLogRecord[]): Promise<ExportResult> {
    const observe = this.#opts.onExportRequest;
    const started = observe === undefined ? 0 : performance.now();
    const done = new Promise<ExportResult>((resolve) => {
      try {
        this.#exporter.export(records, resolve);
      } catch (error) {
        resolve({ code: 1, error: error instanceof Error ? error : new Error(String(error)) });
      }
    });
    if (observe === undefined) return done;
    return done.then((result) => { observe((performance.now() - started) / 1000, result.code === 0); return result; });
  }

  #settleFlush(): void {
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const w of waiters) w();
  }
}
