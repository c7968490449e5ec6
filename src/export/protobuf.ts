// The OTLP protobuf encoding of an export request (ExportLogsServiceRequest), handed to the
// OpenTelemetry exporters in place of @opentelemetry/otlp-transformer's ProtobufLogsSerializer.
// Transport, retries of the exporters themselves, compression, TLS and the OTEL_* variables stay
// the exporters'; only the bytes are made here, because the library's serializer costs about four
// times as much per record (it walks each record twice — size estimate, then write — and copies
// strings one character at a time in JavaScript; BENCHMARKS.md "Export" times both side by side).
//
// The output is byte for byte what ProtobufLogsSerializer produces for the same records (same
// fields, same order, same canonical varints; test/export/protobuf.test.ts checks it on generated
// records), so decoders cannot tell them apart. One deliberate difference: an attribute whose value
// is undefined is left out (the library would send it as an empty value); the SDK never stores
// one, and armorwatch uses undefined for "field absent" (handoff.ts). What makes it cheaper:
// - strings go through Buffer's native UTF-8 writer (one call per string);
// - one pass: a length-delimited field reserves room for its length and moves its content only in
//   the rare case the reservation was wrong;
// - a Resource and an InstrumentationScope are encoded once and their bytes reused while the same
//   object is alive (the SDK shares one Resource object per LoggerProvider, and a Resource's
//   attributes do not change once it is built);
// - one scratch buffer, grown when needed, reused across requests (the request is copied out).
import type { HrTime } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from './sdk.ts';

type Serializer = typeof ProtobufLogsSerializer;
type Resource = ReadableLogRecord['resource'];
type Scope = ReadableLogRecord['instrumentationScope'];

const TWO_32 = 4294967296;
const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63;

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes in ONE growable buffer; `begin`/`end` bracket a length-delimited field. */
class Writer {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  reset(): void {
    this.pos = 0;
  }

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned varint of a non-negative integer below 2^32. */
  uvarint(v: number): void {
    this.room(5);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** int64 varint of any safe integer (negative ones take ten bytes, two's complement). */
  varint64(value: number): void {
    if (value >= 0 && value < TWO_32) {
      this.uvarint(value);
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / TWO_32) >>> 0;
    } else {
      const abs = -value;
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / TWO_32) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    this.room(10);
    const b = this.buf;
    let p = this.pos;
    while (high > 0 || low > 0x7f) {
      b[p++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    b[p++] = low & 0x7f;
    this.pos = p;
  }

  fixed64(low: number, high: number): void {
    this.room(8);
    this.buf.writeUInt32LE(low >>> 0, this.pos);
    this.buf.writeUInt32LE(high >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Length-prefixed UTF-8: written once, after a one-byte length guess that is right below 128 bytes. */
  string(s: string): void {
    const max = s.length * 3;
    this.room(max + 5);
    const at = this.pos;
    const n = this.buf.write(s, at + 1, max, 'utf8');
    if (n < 0x80) {
      this.buf[at] = n;
      this.pos = at + 1 + n;
      return;
    }
    const size = varintSize(n);
    this.buf.copyWithin(at + size, at + 1, at + 1 + n);
    this.pos = at;
    this.uvarint(n);
    this.pos = at + size + n;
  }

  bytes(src: Uint8Array): void {
    this.uvarint(src.length);
    this.room(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Reserves `guess` bytes for a length and returns where they start. */
  begin(guess: number): number {
    this.room(guess);
    const at = this.pos;
    this.pos += guess;
    return at;
  }

  /** Writes the length of what followed `begin`, moving the content if the guess was wrong. */
  end(at: number, guess: number): void {
    const len = this.pos - at - guess;
    const size = varintSize(len);
    if (size !== guess) {
      this.room(size - guess);
      this.buf.copyWithin(at + size, at + guess, this.pos);
      this.pos += size - guess;
    }
    const b = this.buf;
    let p = at;
    let v = len;
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p] = v;
  }

  raw(src: Uint8Array): void {
    this.room(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }
}

// Tags: (field number << 3) | wire type, all below 128.
const LEN = 2;
const tag = (field: number, wire: number): number => (field << 3) | wire;

function anyValue(w: Writer, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.byte(tag(1, LEN));
      w.string(value);
      return;
    case 'boolean':
      w.byte(tag(2, 0));
      w.byte(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_MAX) {
        w.byte(tag(3, 0));
        w.varint64(value);
      } else {
        w.byte(tag(4, 1));
        w.double(value);
      }
      return;
    default:
  }
  if (value instanceof Uint8Array) {
    w.byte(tag(7, LEN));
    w.bytes(value);
  } else if (Array.isArray(value)) {
    w.byte(tag(5, LEN));
    const arr = w.begin(1);
    for (const item of value) {
      w.byte(tag(1, LEN));
      const at = w.begin(1);
      anyValue(w, item);
      w.end(at, 1);
    }
    w.end(arr, 1);
  } else if (typeof value === 'object' && value !== null) {
    w.byte(tag(6, LEN));
    const list = w.begin(1);
    const obj = value as Record<string, unknown>;
    for (const k in obj) {
      if (!Object.hasOwn(obj, k)) continue;
      w.byte(tag(1, LEN));
      keyValue(w, k, obj[k]);
    }
    w.end(list, 1);
  }
  // Anything else (undefined, null, functions): an empty AnyValue, as the library writes it.
}

/** A KeyValue message body (after its tag). */
function keyValue(w: Writer, key: string, value: unknown): void {
  const kv = w.begin(1);
  w.byte(tag(1, LEN));
  w.string(key);
  w.byte(tag(2, LEN));
  const v = w.begin(1);
  anyValue(w, value);
  w.end(v, 1);
  w.end(kv, 1);
}

function attributes(w: Writer, attrs: Readonly<Record<string, unknown>>, field: number): void {
  const t = tag(field, LEN);
  for (const key in attrs) {
    const value = attrs[key];
    // undefined marks an absent field (handoff.ts); the SDK's own copy never holds one.
    if (value === undefined || !Object.hasOwn(attrs, key)) continue;
    w.byte(t);
    keyValue(w, key, value);
  }
}

/** HrTime → fixed64 nanoseconds, exact (no float rounding of the sum). */
function hrTimeFixed64(w: Writer, hr: HrTime): void {
  const seconds = hr[0];
  const nanos = hr[1];
  const lo16 = (seconds & 0xffff) * 1e9;
  const hiPart = ((seconds / 0x10000) >>> 0) * 1e9;
  const low = (lo16 >>> 0) + ((((hiPart & 0xffff) * 0x10000) >>> 0)) + nanos;
  const high = Math.floor(lo16 / TWO_32) + ((hiPart / 0x10000) >>> 0) + Math.floor(low / TWO_32);
  w.fixed64(low >>> 0, high >>> 0);
}

function hexBytes(hex: string): Uint8Array {
  return Buffer.from(hex, 'hex');
}

function logRecord(w: Writer, rec: ReadableLogRecord): void {
  const at = w.begin(2);
  w.byte(tag(1, 1));
  hrTimeFixed64(w, rec.hrTime);
  const sev = rec.severityNumber;
  if (sev !== undefined && sev !== 0) {
    w.byte(tag(2, 0));
    w.uvarint(sev);
  }
  if (rec.severityText) {
    w.byte(tag(3, LEN));
    w.string(rec.severityText);
  }
  if (rec.body !== undefined) {
    w.byte(tag(5, LEN));
    const guess = typeof rec.body === 'string' && rec.body.length < 120 ? 1 : 2;
    const b = w.begin(guess);
    anyValue(w, rec.body);
    w.end(b, guess);
  }
  if (rec.attributes) attributes(w, rec.attributes, 6);
  w.byte(tag(7, 0));
  w.uvarint(rec.droppedAttributesCount);
  const span = rec.spanContext;
  if (span?.traceFlags) {
    w.byte(tag(8, 5));
    w.room(4);
    w.buf.writeUInt32LE(span.traceFlags >>> 0, w.pos);
    w.pos += 4;
  }
  if (span?.traceId) {
    w.byte(tag(9, LEN));
    w.bytes(hexBytes(span.traceId));
  }
  if (span?.spanId) {
    w.byte(tag(10, LEN));
    w.bytes(hexBytes(span.spanId));
  }
  w.byte(tag(11, 1));
  hrTimeFixed64(w, rec.hrTimeObserved);
  if (rec.eventName) {
    w.byte(tag(12, LEN));
    w.string(rec.eventName);
  }
  w.end(at, 2);
}

// Encoded Resource (field 1 of ResourceLogs, tag included) and InstrumentationScope (field 1 of
// ScopeLogs, tag included), per object.
const resourceBytes = new WeakMap<Resource, Buffer>();
const scopeBytes = new WeakMap<Scope, Buffer>();
const side = new Writer(1024);

function encodeOnce<K extends object>(cache: WeakMap<K, Buffer>, key: K, write: (w: Writer) => void): Buffer {
  let bytes = cache.get(key);
  if (bytes === undefined) {
    side.reset();
    write(side);
    bytes = Buffer.from(side.buf.subarray(0, side.pos));
    cache.set(key, bytes);
  }
  return bytes;
}

function writeResource(w: Writer, resource: Resource): void {
  w.byte(tag(1, LEN));
  const at = w.begin(1);
  if (resource.attributes) attributes(w, resource.attributes, 1);
  w.byte(tag(2, 0));
  w.byte(0);
  w.end(at, 1);
}

function writeScope(w: Writer, scope: Scope): void {
  w.byte(tag(1, LEN));
  const at = w.begin(1);
  w.byte(tag(1, LEN));
  w.string(scope.name);
  if (scope.version) {
    w.byte(tag(2, LEN));
    w.string(scope.version);
  }
  const s = scope as Scope & { attributes?: Record<string, unknown>; droppedAttributesCount?: number };
  if (s.attributes) attributes(w, s.attributes, 3);
  if (s.droppedAttributesCount) {
    w.byte(tag(4, 0));
    w.uvarint(s.droppedAttributesCount);
  }
  w.end(at, 1);
}

const main = new Writer(1 << 20);

/** Records grouped by resource, then by scope, in order of first appearance (as the library groups them). */
function group(records: readonly ReadableLogRecord[]): Map<Resource, Map<Scope, ReadableLogRecord[]>> {
  const byResource = new Map<Resource, Map<Scope, ReadableLogRecord[]>>();
  for (const rec of records) {
    let byScope = byResource.get(rec.resource);
    if (byScope === undefined) {
      byScope = new Map();
      byResource.set(rec.resource, byScope);
    }
    let list = byScope.get(rec.instrumentationScope);
    if (list === undefined) {
      list = [];
      byScope.set(rec.instrumentationScope, list);
    }
    list.push(rec);
  }
  return byResource;
}

/** ExportLogsServiceRequest bytes for these records. */
export function encodeLogsRequest(records: readonly ReadableLogRecord[]): Uint8Array {
  const w = main;
  w.reset();
  for (const [resource, byScope] of group(records)) {
    w.byte(tag(1, LEN));
    const rl = w.begin(3);
    w.raw(encodeOnce(resourceBytes, resource, (s) => writeResource(s, resource)));
    for (const list of byScope.values()) {
      const scope = list[0]!.instrumentationScope;
      w.byte(tag(2, LEN));
      const sl = w.begin(3);
      w.raw(encodeOnce(scopeBytes, scope, (s) => writeScope(s, scope)));
      for (const rec of list) {
        w.byte(tag(2, LEN));
        logRecord(w, rec);
      }
      if (scope.schemaUrl) {
        w.byte(tag(3, LEN));
        w.string(scope.schemaUrl);
      }
      w.end(sl, 3);
    }
    if (resource.schemaUrl) {
      w.byte(tag(3, LEN));
      w.string(resource.schemaUrl);
    }
    w.end(rl, 3);
  }
  const out = new Uint8Array(w.pos);
  out.set(w.buf.subarray(0, w.pos));
  // A scratch buffer that grew for one huge request is not kept forever.
  if (w.buf.length > 8 << 20) main.buf = Buffer.allocUnsafe(1 << 20);
  return out;
}

/** Drop-in for ProtobufLogsSerializer: our request encoding, the library's response decoding. */
export const LogsSerializer: Serializer = {
  serializeRequest: (records) => encodeLogsRequest(records),
  deserializeResponse: (data) => ProtobufLogsSerializer.deserializeResponse(data),
};
