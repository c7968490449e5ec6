// Gives an SDK LogRecord its attributes object as the agent built it.
//
// The SDK's LogRecord copies attributes handed to Logger.emit key by key (Object.entries, a limit
// and type check and a deep copy per value) into a fresh object that V8 keeps in dictionary mode.
// For armorwatch's records that copy was the largest single cost after serialization and produced
// most of the garbage the collector then had to trace while records wait in the export queue
// (BENCHMARKS.md, "Export"). The attributes armorwatch builds are already what the copy would
// produce: one fixed-shape RecordAttributes object (src/export/record.ts) of typed primitives and
// read-only string arrays, far below the SDK's default limits (128 attributes, no length limit).
//
// So the record is emitted without attributes and this processor, placed FIRST in the
// LoggerProvider's processors, sets them during onEmit, the moment the SDK allows processors to
// modify a record. Keys whose value is undefined stand for absent fields: the encoder
// (protobuf.ts), the size estimate and stdout all leave them out, as the SDK's copy would have.
import type { Attributes, Logger, LogRecord } from '@opentelemetry/api';
import type { LogRecordProcessor, SdkLogRecord } from './sdk.ts';

export class AttributeHandOff implements LogRecordProcessor {
  #next: Attributes | undefined;

  /** Emits `record` through `logger` with `attributes` attached as they are. */
  emit(logger: Logger, record: LogRecord, attributes: Attributes): void {
    this.#next = attributes;
    try {
      logger.emit(record);
    } finally {
      this.#next = undefined;
    }
  }

  onEmit(record: SdkLogRecord): void {
    const attributes = this.#next;
    if (attributes === undefined) return;
    this.#next = undefined;
    (record as { attributes: Attributes }).attributes = attributes;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
