// Which failed exports are worth sending again, and when. The OTLP exporters report failures as
// an ExportResult carrying the error instead of throwing: gRPC gives a ServiceError with a numeric
// status code (the gRPC exporter never retries by itself); the HTTP exporter retries 429/502/503/504
// and connection errors a few times within its timeout, then gives up with an OTLPExporterError
// (HTTP status in `code`), a plain "retryable status" error, or the socket error (string `code`).

/** gRPC status codes the OTLP spec calls retryable for logs: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE. */
const GRPC_RETRYABLE = new Set([4, 8, 14]);
const HTTP_RETRYABLE = new Set([429, 502, 503, 504]);
const NET_RETRYABLE = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH',
]);
/** Messages the exporters use for failures that say nothing about the request itself (see header). */
const RETRYABLE_MESSAGES = ['Export failed with retryable status', 'Request timed out', 'Concurrent export limit reached'];

export type Verdict = 'retryable' | 'permanent';

/** Node's TLS verification failures (the HTTP exporter passes the socket error on with its code). */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REVOKED', 'CERT_SIGNATURE_FAILURE', 'CERT_REJECTED', 'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH', 'INVALID_CA', 'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO',
]);
/** The same failures as gRPC reports them: UNAVAILABLE, with the TLS error in the text. */
const TLS_TEXT = /certificate|self[- ]signed|unable to verify|altnames|wrong version number|CERT_|ssl3_get_record|tlsv1 alert/i;

/**
 * The TLS problem when the export failed because the backend's certificate was not accepted (or
 * TLS could not be spoken at all): a configuration error that retrying cannot fix. Null otherwise.
 */
export function certificateError(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { code?: unknown; message?: unknown; details?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && TLS_CODES.has(e.code)) return `${e.code}: ${typeof e.message === 'string' ? e.message : ''}`;
  if (typeof e.code === 'number' && e.code === 14) {
    const text = `${typeof e.details === 'string' ? e.details : ''} ${typeof e.message === 'string' ? e.message : ''}`;
    if (TLS_TEXT.test(text)) return typeof e.details === 'string' && e.details !== '' ? e.details : String(e.message);
  }
  return e.cause !== undefined && e.cause !== err ? certificateError(e.cause) : null;
}

export function classifyExportError(err: unknown): Verdict {
  if (typeof err !== 'object' || err === null) return 'permanent';
  if (certificateError(err) !== null) return 'permanent';
  const e = err as { name?: unknown; code?: unknown; message?: unknown; details?: unknown; metadata?: unknown };
  if (typeof e.code === 'string') return NET_RETRYABLE.has(e.code) ? 'retryable' : 'permanent';
  if (typeof e.code === 'number') {
    // OTLPExporterError carries an HTTP status; a gRPC ServiceError a status code (0–16) plus metadata.
    if (e.name === 'OTLPExporterError') return HTTP_RETRYABLE.has(e.code) ? 'retryable' : 'permanent';
    if (e.metadata !== undefined || e.details !== undefined) return GRPC_RETRYABLE.has(e.code) ? 'retryable' : 'permanent';
    return HTTP_RETRYABLE.has(e.code) ? 'retryable' : 'permanent';
  }
  const message = typeof e.message === 'string' ? e.message : '';
  return RETRYABLE_MESSAGES.some((m) => message.startsWith(m)) ? 'retryable' : 'permanent';
}

/** A short description for logs: gRPC status name, HTTP status or error code, and the message. */
export function describeExportError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  return e.code === undefined ? message : `${String(e.code)}: ${message}`;
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter], so agents do not retry in step. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 5000, multiplier: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (0 = first retry). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** attempt);
  return Math.max(0, Math.round(base * (1 + policy.jitter * (2 * random() - 1))));
}
