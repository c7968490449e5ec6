// Parsers of single option values. Each throws UsageError naming where the value came from.
import { UsageError } from '../errors.ts';
import { redactUrl, registerSecret } from './redact.ts';

/** Where a value came from, for messages: `--queue-size` or `ARMORWATCH_QUEUE_SIZE`. */
export interface Raw {
  readonly value: string;
  readonly source: string;
}

/** The error for a bad value; a user:password in it is not shown. */
export function bad(raw: Raw, expected: string): UsageError {
  return new UsageError(`${raw.source}: invalid value "${redactUrl(raw.value)}": ${expected}`);
}

export function oneOf<T extends string>(raw: Raw, allowed: readonly T[]): T {
  const v = raw.value.trim();
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw bad(raw, `expected one of ${allowed.join(', ')}`);
}

export function positiveInt(raw: Raw): number {
  const v = raw.value.trim();
  if (/^[0-9]+$/.test(v) && Number(v) > 0 && Number.isSafeInteger(Number(v))) return Number(v);
  throw bad(raw, 'expected a whole number greater than 0');
}

export function nonNegativeInt(raw: Raw): number {
  const v = raw.value.trim();
  if (/^[0-9]+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  throw bad(raw, 'expected a whole number, 0 or more');
}

export function bool(raw: Raw): boolean {
  const v = raw.value.trim().toLowerCase();
  if (v === 'true' || v === '') return true;
  if (v === 'false') return false;
  throw bad(raw, 'expected true or false');
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `25s`, `5m`, `1h` or `0`; with `plainMs`, a bare number is milliseconds (the OTEL_* timeouts). */
export function duration(raw: Raw, plainMs = false): number {
  const v = raw.value.trim();
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(v);
  if (m !== null) {
    const n = Number(m[1]);
    const unit = m[2];
    if (unit !== undefined) return Math.round(n * (DURATION_UNITS[unit] as number));
    if (n === 0 || plainMs) return Math.round(n);
  }
  throw bad(raw, plainMs ? 'expected milliseconds or a duration such as 10s' : 'expected a duration with a unit (ms, s, m, h), e.g. 25s');
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3,
};

export function size(raw: Raw): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/.exec(raw.value.trim());
  if (m !== null) {
    const bytes = Math.round(Number(m[1]) * (SIZE_UNITS[m[2] ?? ''] as number));
    if (bytes > 0) return bytes;
  }
  throw bad(raw, 'expected a size greater than 0 such as 32MiB, 512KiB or 1000000');
}

/**
 * W3C-baggage-like `k=v,k2=v2` (values URL-encoded), as OTEL_EXPORTER_OTLP_HEADERS. Header values
 * are secrets (API keys): an error names the entry by position and its header name only, never
 * shows a value, and every value read is registered for redaction from the logs.
 */
export function headers(raw: Raw): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = raw.value.split(',');
  // Registered first: even a value of a malformed list is kept out of the logs.
  for (const part of parts) {
    const eq = part.indexOf('=');
    registerSecret(eq < 0 ? part : part.slice(eq + 1));
    if (eq >= 0) { try { registerSecret(decodeURIComponent(part.slice(eq + 1))); } catch { /* reported below */ } }
  }
  const invalid = (why: string): UsageError => new UsageError(`${raw.source}: invalid value (not shown: header values are secret): ${why}`);
  parts.forEach((part, i) => {
    if (part.trim() === '') return;
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq).trim();
    const nth = `entry ${i + 1} of ${parts.length}`;
    if (eq < 0) throw invalid(`${nth} is not key=value`);
    if (key === '' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) throw invalid(`${nth} has no valid header name before "="`);
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw invalid(`the value of "${key}" (${nth}) is not valid URL encoding`);
    }
    out[key.toLowerCase()] = value;
  });
  return out;
}

/** `key=value,key2=value2` of resource attributes (OTEL_RESOURCE_ATTRIBUTES): keys kept as written, values URL-decoded. */
export function keyValues(raw: Raw): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.value.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq).trim();
    if (key === '' || /[\s"\\]/.test(key)) throw bad(raw, `"${part.trim()}" is not key=value`);
    try {
      out[key] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw bad(raw, `the value of "${key}" is not valid URL encoding`);
    }
  }
  return out;
}

/** `host:port`, `:port` (all addresses) or `[v6]:port`. */
export function hostPort(raw: Raw): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(raw.value.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw bad(raw, 'expected HOST:PORT (e.g. 0.0.0.0:8787, :8787, [::]:8787) or off');
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function url(raw: Raw): URL {
  try {
    const u = new URL(raw.value.trim());
    if (u.protocol === 'http:' || u.protocol === 'https:') return u;
  } catch { /* reported below */ }
  throw bad(raw, 'expected an http:// or https:// URL such as http://otel-collector:4317');
}
