// The syntax rules Kubernetes applies to an object's metadata when it is created (the API server's
// ObjectMeta validation for custom resources): names, namespace, label keys and values, annotation
// keys and total size, finalizers, owner references, timestamps. Lengths are in bytes, as in Go.
// Each rule is a named format; schema.ts attaches them to the metadata fields.

/** A check on one string; returns the problems (empty when the string is fine). */
export interface StringFormat {
  readonly name: string;
  readonly check: (value: string) => readonly string[];
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const TOTAL_ANNOTATION_BYTES = 256 * 1024;
const SUBDOMAIN_MAX = 253;
const LABEL_MAX = 63;

function dns1123Subdomain(value: string): string[] {
  const out: string[] = [];
  if (value.length === 0) return ['must not be empty'];
  if (bytes(value) > SUBDOMAIN_MAX) out.push(`must be at most ${SUBDOMAIN_MAX} characters (got ${bytes(value)})`);
  if (!DNS1123_SUBDOMAIN.test(value)) {
    out.push(`${JSON.stringify(value)} is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`);
  }
  return out;
}

function qualifiedName(value: string): string[] {
  const parts = value.split('/');
  if (parts.length > 2) return [`${JSON.stringify(value)} has more than one '/': a qualified name is NAME or PREFIX/NAME`];
  const out: string[] = [];
  const name = parts.at(-1)!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) out.push(`${JSON.stringify(value)}: the prefix before '/' must not be empty`);
    else for (const m of dns1123Subdomain(prefix)) out.push(`${JSON.stringify(value)}: prefix ${m.replace(`${JSON.stringify(prefix)} is not a valid name`, 'is not a DNS subdomain')}`);
  }
  if (name.length === 0) out.push(`${JSON.stringify(value)}: the name part must not be empty`);
  else {
    if (bytes(name) > LABEL_MAX) out.push(`${JSON.stringify(value)}: the name part must be at most ${LABEL_MAX} characters (got ${bytes(name)})`);
    if (!QUALIFIED_NAME.test(name)) {
      out.push(`${JSON.stringify(value)}: the name part may hold only letters, digits, '-', '_' and '.', and must start and end with a letter or digit`);
    }
  }
  return out;
}

/** Why `name` is not a DNS-1123 subdomain, or null when it is one. */
export function dns1123SubdomainError(name: string): string | null {
  return dns1123Subdomain(name)[0] ?? null;
}

export const FORMATS = {
  /** metadata.name of a custom resource. */
  dnsSubdomain: { name: 'DNS-1123 subdomain', check: dns1123Subdomain },
  /** metadata.generateName: a name prefix, so a trailing '-' is allowed. */
  generateName: {
    name: 'DNS-1123 subdomain prefix',
    check: (v: string) => dns1123Subdomain(v.length > 1 && v.endsWith('-') ? `${v.slice(0, -1)}a` : v),
  },
  /** metadata.namespace. */
  dnsLabel: {
    name: 'DNS-1123 label',
    check: (v: string): string[] => {
      if (v.length === 0) return ['must not be empty'];
      const out: string[] = [];
      if (bytes(v) > LABEL_MAX) out.push(`must be at most ${LABEL_MAX} characters (got ${bytes(v)})`);
      if (!DNS1123_LABEL.test(v)) out.push(`${JSON.stringify(v)} is not a valid namespace: use lower-case letters, digits and '-', starting and ending with a letter or digit`);
      return out;
    },
  },
  /** Label keys and finalizers: NAME or PREFIX/NAME. */
  qualifiedName: { name: 'qualified name', check: qualifiedName },
  /** Annotation keys: qualified names, compared in lower case (so the prefix may have capitals). */
  annotationKey: {
    name: 'qualified name (any case)',
    check: (v: string) => qualifiedName(v.toLowerCase()).map((m) => m.replace(JSON.stringify(v.toLowerCase()), JSON.stringify(v))),
  },
  labelValue: {
    name: 'label value',
    check: (v: string): string[] => {
      const out: string[] = [];
      if (bytes(v) > LABEL_MAX) out.push(`must be at most ${LABEL_MAX} characters (got ${bytes(v)})`);
      if (!LABEL_VALUE.test(v)) out.push(`${JSON.stringify(v)} is not a valid label value: empty, or letters, digits, '-', '_' and '.', starting and ending with a letter or digit`);
      return out;
    },
  },
  /** metav1.Time: RFC 3339 as Go's time.Parse reads it. */
  rfc3339: {
    name: 'time in RFC 3339 form',
    check: (v: string): string[] => (rfc3339Ok(v) ? [] : [`${JSON.stringify(v)} is not an RFC 3339 time such as 2025-01-31T12:00:00Z`]),
  },
} as const satisfies Record<string, StringFormat>;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?(?:Z|([-+])(\d{2}):(\d{2}))$/;
function rfc3339Ok(v: string): boolean {
  const m = RFC3339.exec(v);
  if (m === null) return false;
  const [year, month, day, hour, min, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysIn = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysIn || hour > 23 || min > 59 || sec > 59) return false;
  return m[8] === undefined || (Number(m[8]) <= 23 && Number(m[9]) <= 59);
}

export interface MetaProblem {
  /** Field path below metadata, '' for metadata itself. */
  readonly field: string;
  readonly message: string;
}

/** The checks on metadata as a whole (sizes, combinations), on the validated plain value. */
export function checkObjectMeta(meta: {
  annotations?: Record<string, string>;
  finalizers?: readonly string[];
  ownerReferences?: ReadonlyArray<{ apiVersion?: string; kind?: string; name?: string; uid?: string; controller?: boolean }>;
}): MetaProblem[] {
  const out: MetaProblem[] = [];
  if (meta.annotations !== undefined) {
    let total = 0;
    for (const [k, v] of Object.entries(meta.annotations)) total += bytes(k) + bytes(v);
    if (total > TOTAL_ANNOTATION_BYTES) {
      out.push({ field: 'annotations', message: `annotations take ${total} bytes (keys and values together); the limit is ${TOTAL_ANNOTATION_BYTES} (256 KiB)` });
    }
  }
  const fin = meta.finalizers ?? [];
  if (fin.includes('orphan') && fin.includes('foregroundDeletion')) {
    out.push({ field: 'finalizers', message: 'the finalizers orphan and foregroundDeletion cannot both be set' });
  }
  let controller: string | undefined;
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    const at = `ownerReferences[${i}]`;
    const av = ref.apiVersion ?? '';
    const parts = av.split('/');
    const version = parts.length === 1 ? parts[0]! : parts.length === 2 ? parts[1]! : '';
    if (version === '') out.push({ field: `${at}.apiVersion`, message: `must name a version, as in v1 or group/v1 (got ${JSON.stringify(av)})` });
    for (const f of ['kind', 'name', 'uid'] as const) {
      if ((ref[f] ?? '') === '') out.push({ field: `${at}.${f}`, message: 'must not be empty' });
    }
    if (av === 'v1' && ref.kind === 'Event') out.push({ field: at, message: 'an Event cannot be an owner' });
    if (ref.controller === true) {
      const who = `${ref.kind ?? ''}/${ref.name ?? ''}`;
      if (controller !== undefined) out.push({ field: at, message: `only one owner reference may have controller: true (${controller} and ${who})` });
      else controller = who;
    }
  });
  return out;
}
