// Secrets never leave the process through its own output: header values (API keys, bearer tokens)
// and the user:password part of URLs are replaced by [REDACTED] in every log line, error and help
// text. Values are registered as the configuration is read; URLs are recognised by their shape.

export const REDACTED = '[REDACTED]';

const secrets = new Set<string>();

/** Shorter values are not registered: replacing every "1" or "on" would garble logs and hide nothing. */
const MIN_SECRET_LENGTH = 4;

/** Registers a value (a header value) to be redacted from everything the agent prints from now on. */
export function registerSecret(value: string): void {
  const v = value.trim();
  if (v.length >= MIN_SECRET_LENGTH) secrets.add(v);
  // "Bearer <token>", "Basic <credentials>": the credential alone may show up too.
  for (const part of v.split(/\s+/)) if (part.length >= 8 && part !== v) secrets.add(part);
}

/** scheme://user:pass@host and scheme-less user:pass@host (as a gRPC target may be written). */
const USERINFO = /([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^\s/?#@"'\\]+@|(^|[\s"'=(])[^\s/?#@"'\\:=(]+:[^\s/?#@"'\\]*@(?=[a-zA-Z0-9[])/g;

/** The URL with any userinfo replaced. */
export function redactUrl(text: string): string {
  return text.replace(USERINFO, (_m, scheme: string | undefined, lead: string | undefined) => (scheme !== undefined ? `${scheme}${REDACTED}@` : `${lead ?? ''}${REDACTED}@`));
}

/**
 * Text with userinfo and every registered secret replaced. Registered values are also matched in
 * their JSON-escaped and URL-encoded forms (how they appear in log lines and in the variables).
 */
export function redactText(text: string): string {
  let out = redactUrl(text);
  // Longest first, so a whole "Bearer <token>" goes before its token alone.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    for (const form of new Set([s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)])) {
      if (out.includes(form)) out = out.split(form).join(REDACTED);
    }
  }
  return out;
}

/** Forgets the registered secrets (tests). */
export function clearSecrets(): void {
  secrets.clear();
}
