/**
 * Typed errors with stable codes. A code never changes meaning once released; messages say what to do.
 */
export class ArmorwatchError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArmorwatchError';
    this.code = code;
  }
}

/** Bad command line or configuration: exit status 2. */
export class UsageError extends ArmorwatchError {
  constructor(message: string) {
    super('AW_USAGE', message);
    this.name = 'UsageError';
  }
}
