// The agent's own logs: pino, always to standard error, so they never mix with alerts on stdout.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.ARMORWATCH_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'armorwatch', level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything, for library callers and tests that do not care. */
export const silentLogger: Logger = pino({ level: 'silent' });
