// bin/armorwatch caps the JavaScript heap (--max-old-space-size): without a cap V8 lets the old
// generation grow to several times the live data under load (BENCHMARKS.md, Export). A cap only
// works if what the export queues may hold fits under it with room for the collector to work, so
// the agent checks that at start-up and refuses a queue that could end in an out-of-memory crash
// (which would lose everything queued) with a message that says what to raise.
import { getHeapStatistics } from 'node:v8';
import type { ExporterMode } from '../config/types.ts';
import { UsageError } from '../errors.ts';

const MB = 1024 * 1024;
/** Heap the agent uses besides its queues: code, policies, caches, batches being encoded (measured idle ~25 MB, plus margin). */
export const BASE_HEAP_MB = 48;
/** A queued OTLP record takes about this many times its estimated encoded size on the heap (docs/OTEL.md). */
export const OTLP_HEAP_FACTOR = 1.6;
/** Room for the garbage collector above the most the queues can hold. */
export const GC_HEADROOM = 1.25;

/** Heap (MB) the agent needs when its queues are full: OTLP records and standard-output lines, each bounded by `queueBytes`. */
export function heapNeededMb(exporter: ExporterMode, queueBytes: number): number {
  const otlp = exporter !== 'stdout' ? OTLP_HEAP_FACTOR * queueBytes : 0;
  const stdout = exporter !== 'otlp' ? queueBytes : 0;
  return Math.ceil(BASE_HEAP_MB + GC_HEADROOM * (otlp + stdout) / MB);
}

/** Throws a UsageError when the queues could outgrow the heap limit this process was started with. */
export function checkHeapForQueues(exporter: ExporterMode, queueBytes: number, heapLimitBytes = getHeapStatistics().heap_size_limit): void {
  const need = heapNeededMb(exporter, queueBytes);
  const limit = Math.floor(heapLimitBytes / MB);
  if (need <= limit) return;
  throw new UsageError(`--queue-bytes (ARMORWATCH_QUEUE_BYTES) ${Math.round(queueBytes / MB)} MiB with --exporter ${exporter} needs a JavaScript heap of about ${need} MB, `
    + `but this process may use only ${limit} MB: lower --queue-bytes, or raise the heap: ARMORWATCH_HEAP_MB=${need} for bin/armorwatch, `
    + `or node --max-old-space-size=${need}`);
}
