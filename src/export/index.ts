// The export stage: typed matches in; OTLP LogRecords (through the reliable processor) and/or
// KubeArmor JSON lines on standard output out, two renderers of the same match side by side
// (record.ts, kubearmor.ts) sharing the spellings both need (match.ts). One LoggerProvider per workload Resource, all feeding ONE processor and
// exporter, so records of many workloads share export requests, grouped by resource.
import type { Writable } from 'node:stream';
import type { Logger as OtelLogger } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { ExporterMode, OtlpConfig, QueueConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { Exportable, Match, ScanDetection } from '../types.ts';
import { VERSION } from '../version.ts';
import { createOtlpExporter } from './otlp.ts';
import { ReliableLogRecordProcessor, type ExportCounters, type ProcessorOptions } from './processor.ts';
import { AttributeHandOff } from './handoff.ts';
import { alertLine } from './kubearmor.ts';
import { matchText, type MatchText } from './match.ts';
import type { DatadogSettings } from './datadog.ts';
import { matchRecordFields, recordAttributes, RecordShape } from './record.ts';
import { ResourceCache } from './resource.ts';
import { scanAlertLine, scanAttributes, scanRecordFields } from './scan.ts';
import type { LogRecordExporter } from './sdk.ts';
import { StdoutSink, type StdoutCounters } from './stdout.ts';

export interface ExportSettings {
  readonly exporter: ExporterMode;
  readonly otlp: OtlpConfig | null;
  readonly queue: QueueConfig;
  readonly serviceName: string;
  /** Static Resource attributes (the agent's own attributes win over these). */
  readonly resourceAttributes?: Readonly<Record<string, string>>;
  /** Copy EventName into the deprecated `event.name` record attribute; off by default. */
  readonly eventNameAttribute?: boolean;
  /** What Datadog needs on each record (--datadog-*); null or absent: nothing. */
  readonly datadog?: DatadogSettings | null;
  /** 0 = counters logged only at shutdown. */
  readonly statsIntervalMs: number;
}

export interface ExportStats {
  readonly otlp?: ExportCounters;
  readonly stdout?: StdoutCounters;
}

export interface AlertExporter {
  /** A match, a throttling notice or a detection. Never blocks and never throws: a record that cannot be kept is counted as dropped. */
  export(record: Exportable): void;
  /** Resolves once everything handed in so far was exported or dropped (tests, benchmarks). */
  forceFlush(): Promise<void>;
  /** Flushes for at most `deadlineMs`, counts the rest as dropped{shutdown}, logs the final counters. Idempotent. */
  shutdown(deadlineMs: number): Promise<ExportStats>;
  stats(): ExportStats;
}

export interface ExportDeps {
  /** Replaces the OTLP exporter built from settings.otlp (tests). */
  readonly otlpExporter?: LogRecordExporter;
  readonly stdout?: Writable;
  /** Processor tuning beyond what the configuration exposes (tests, benchmarks). */
  readonly processor?: Partial<ProcessorOptions>;
}

export function createAlertExporter(settings: ExportSettings, log: Logger, deps: ExportDeps = {}): AlertExporter {
  const useOtlp = settings.exporter !== 'stdout';
  const useStdout = settings.exporter !== 'otlp';
  let processor: ReliableLogRecordProcessor | undefined;
  let emitOtlp: ((match: Match, text: MatchText) => void) | undefined;
  let emitScan: ((d: ScanDetection) => void) | undefined;
  if (useOtlp) {
    const exporter = deps.otlpExporter ?? createOtlpExporter(settings.otlp ?? missingOtlp());
    processor = new ReliableLogRecordProcessor(exporter, log, {
      maxQueueRecords: settings.queue.maxRecords,
      maxQueueBytes: settings.queue.maxBytes,
      maxBatchRecords: settings.queue.batchRecords,
      retryMaxElapsedMs: settings.queue.retryMaxElapsedMs,
      ...deps.processor,
    });
    const shared = processor;
    const shape = new RecordShape({ eventNameAttribute: settings.eventNameAttribute ?? false, datadog: settings.datadog ?? null });
    const handOff = new AttributeHandOff();
    const loggers = new ResourceCache<OtelLogger>(
      { serviceName: settings.serviceName, serviceVersion: VERSION, extra: settings.resourceAttributes ?? {} },
      (resource) => new LoggerProvider({ resource, processors: [handOff, shared] }).getLogger('armorwatch', VERSION),
    );
    emitOtlp = (m, text) => handOff.emit(loggers.get(m.workload, m.node), matchRecordFields(m, hrTime(), text), recordAttributes(m, text, shape));
    emitScan = (d) => handOff.emit(loggers.get(d.workload, d.node), scanRecordFields(d, hrTime()), scanAttributes(d, shape.eventNameAttribute, shape));
  }
  const stdout = useStdout ? new StdoutSink(settings.queue.maxBytes, deps.stdout) : undefined;

  const stats = (): ExportStats => ({
    ...(processor ? { otlp: processor.counters() } : {}),
    ...(stdout ? { stdout: stdout.counters() } : {}),
  });
  const ticker = settings.statsIntervalMs > 0
    ? setInterval(() => log.info({ export: stats() }, 'export counters'), settings.statsIntervalMs).unref()
    : undefined;
  let finished: Promise<ExportStats> | undefined;

  return {
    export(record) {
      if ('scan' in record) {
        emitScan?.(record);
        stdout?.write(scanAlertLine(record));
        return;
      }
      const match: Match = record;
      const text = matchText(match);
      emitOtlp?.(match, text);
      stdout?.write(alertLine(match, text));
    },
    async forceFlush() {
      await processor?.forceFlush();
    },
    shutdown(deadlineMs) {
      finished ??= (async () => {
        clearInterval(ticker);
        const started = Date.now();
        await processor?.drain(deadlineMs);
        await stdout?.close(Math.max(0, deadlineMs - (Date.now() - started)));
        const final = stats();
        log.info({ export: final }, 'export: final counters');
        return final;
      })();
      return finished;
    },
    stats,
  };
}

function missingOtlp(): never {
  throw new Error('OTLP export requested without an OTLP configuration');
}
