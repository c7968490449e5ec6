// The agent's own logs: pino, always to standard error, so they never mix with alerts on stdout.
// Levels as strings ("level":"warn") and times as ISO 8601 UTC ("time":"2026-…Z"): what Loki's
// level detection and Datadog's status and date remappers read without a custom pipeline.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redactText } from './config/redact.ts';

export type { Logger };

/** The options of every agent logger (also used by tests that capture log lines). */
export function loggerOptions(level: string): LoggerOptions {
  return {
    name: 'armorwatch',
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/**
 * Every line is redacted as written (src/config/redact.ts): header values and URL passwords never
 * reach the log, whatever level, message or error object carried them.
 */
function redacting(dest: DestinationStream & { flushSync?: () => void }): DestinationStream {
  return {
    write: (line: string) => dest.write(redactText(line)),
    ...(dest.flushSync === undefined ? {} : { flushSync: () => dest.flushSync?.() }),
  } as DestinationStream;
}

export function createLogger(level: string = process.env.ARMORWATCH_LOG_LEVEL ?? 'info', dest?: DestinationStream): Logger {
  return pino(loggerOptions(level), redacting(dest ?? pino.destination({ fd: 2, sync: false })));
}

/**
 * One `fatal` line for an error that stops the process before (or instead of) its logger, written
 * synchronously so that it is out before the process exits.
 */
export function logFatal(err: unknown, fields: Record<string, unknown> = {}): void {
  const log = pino(loggerOptions('fatal'), redacting(pino.destination({ fd: 2, sync: true })));
  const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  log.fatal({ ...fields, ...(code !== undefined ? { code } : {}), ...(err instanceof Error && code === undefined ? { err } : {}) },
    err instanceof Error ? err.message : String(err));
}

/** A logger that drops everything, for library callers and tests that do not care. */
export const silentLogger: Logger = pino({ level: 'silent' });
