// The few SDK types the export stage uses, re-exported from one place.
export type { LogRecordExporter, LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord as SdkLogRecord } from '@opentelemetry/sdk-logs';
