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

/** Used when a match has no policy severity (the default posture has none). */
export const SEVERITY_FALLBACK = SeverityNumber.INFO;

/** The policy's severity (an integer 1–10, as validation guarantees) → SeverityNumber. */
export function toSeverityNumber(severity: number | undefined): SeverityNumber {
  return severity === undefined ? SEVERITY_FALLBACK : (SEVERITY_TABLE[severity] ?? SEVERITY_FALLBACK);
}

/** OTLP's short names, for the docs table. */
export function severityName(n: SeverityNumber): string {
  return SeverityNumber[n] ?? String(n);
}
