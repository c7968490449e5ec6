// Policy severity (1–10, KubeArmor's scale) → OTLP SeverityNumber, within INFO (9) … FATAL (21).
// Strictly increasing, so a backend's "severity >= WARN" keeps what policy authors rated 3 and up.
// The table is documented in docs/OTEL.md (rendered from SEVERITY_TABLE) and tested.
import { SeverityNumber } from '@opentelemetry/api';

/** Index = policy severity; SEVERITY_TABLE[0] is unused. */
export const SEVERITY_TABLE: readonly SeverityNumber[] = [
  SeverityNumber.UNSPECIFIED,
  SeverityNumber.INFO, // 1
  SeverityNumber.INFO2, // 2
  SeverityNumber.WARN, // 3
  SeverityNumber.WARN2, // 4
  SeverityNumber.WARN3, // 5
  SeverityNumber.ERROR, // 6
  SeverityNumber.ERROR2, // 7
  SeverityNumber.ERROR3, // 8
  SeverityNumber.ERROR4, // 9
  SeverityNumber.FATAL, // 10
];

/** Used when a policy's severity is missing or not an integer 1–10 (the default posture has none). */
export const SEVERITY_FALLBACK = SeverityNumber.INFO;

export function policySeverityNumber(severity: string | number | undefined): number | undefined {
  const n = typeof severity === 'number' ? severity : severity === undefined || severity.trim() === '' ? NaN : Number(severity);
  return Number.isInteger(n) && n >= 1 && n <= 10 ? n : undefined;
}

export function toSeverityNumber(severity: string | number | undefined): SeverityNumber {
  const n = policySeverityNumber(severity);
  return n === undefined ? SEVERITY_FALLBACK : (SEVERITY_TABLE[n] as SeverityNumber);
}

/** OTLP's short names, for the docs table. */
export function severityName(n: SeverityNumber): string {
  return SeverityNumber[n] ?? String(n);
}
