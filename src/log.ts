// The agent's own logs: pino, always to standard error, so they never mix with alerts on stdout.
// Levels as strings ("level":"warn") and times as ISO 8601 UTC ("time":"2026-…Z"): what Loki's
// level detection and Datadog's status and date remappers read without a custom pipeline.
import { pino, type Logger, type LoggerOptions } from 'pino';

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

export function createLogger(level: string = process.env.ARMORWATCH_LOG_LEVEL ?? 'info'): Logger {
  return pino(loggerOptions(level), pino.destination({ fd: 2, sync: false }));
}

/**
 * One `fatal` line for an error that stops the process before (or instead of) its logger, written
 * synchronously so that it is out before the process exits.
 */
export function logFatal(err: unknown, fields: Record<string, unknown> = {}): void {
  const log = pino(loggerOptions('fatal'), pino.destination({ fd: 2, sync: true }));
  const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  log.fatal({ ...fields, ...(code !== undefined ? { code } : {}), ...(err instanceof Error && code === undefined ? { err } : {}) },
    err instanceof Error ? err.message : String(err));
}

/** A logger that drops everything, for library callers and tests that do not care. */
export const silentLogger: Logger = pino({ level: 'silent' });
