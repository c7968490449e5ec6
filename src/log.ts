// The agent's own logs: pino, always to standard error, so they never mix with alerts on stdout.
import { pino, type DestinationStream, type Logger } from 'pino';
import { redactText } from './config/redact.ts';

export type { Logger };

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
  return pino({ name: 'armorwatch', level, base: { pid: process.pid } }, redacting(dest ?? pino.destination({ fd: 2, sync: false })));
}

/** A logger that drops everything, for library callers and tests that do not care. */
export const silentLogger: Logger = pino({ level: 'silent' });
