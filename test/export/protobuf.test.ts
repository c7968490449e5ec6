// armorwatch's OTLP request encoder must produce exactly the bytes of the library serializer the
// stock exporters use (@opentelemetry/otlp-transformer's ProtobufLogsSerializer), for real SDK
// records: the alerts the agent sends, and generated records with every kind of value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AnyValue, Attributes } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { LogsSerializer } from '../../src/export/protobuf.ts';
import { matchToLogRecord } from '../../src/export/record.ts';
import { ResourceCache } from '../../src/export/resource.ts';
import { EXEC_MATCH, HOST_MATCH, podMatch, SEED_MATCH } from './fixtures.ts';

function recorder(): { held: ReadableLogRecord[]; processor: { onEmit(r: ReadableLogRecord): void; forceFlush(): Promise<void>; shutdown(): Promise<void> } } {
  const held: ReadableLogRecord[] = [];
  return { held, processor: { onEmit: (r) => { held.push(r); }, forceFlush: async () => {}, shutdown: async () => {} } };
}

function sameBytes(records: ReadableLogRecord[]): void {
  const theirs = ProtobufLogsSerializer.serializeRequest(records);
  const ours = LogsSerializer.serializeRequest(records);
  assert.ok(theirs !== undefined && ours !== undefined);
  assert.ok(Buffer.from(ours).equals(Buffer.from(theirs)), `encodings differ (${ours.length} vs ${theirs.length} bytes)`);
}

test('the agent\'s own records (seed alert, 20 workloads, one request) encode to the library\'s exact bytes', () => {
  const { held, processor } = recorder();
  const cache = new ResourceCache({ serviceName: 'armorwatch', serviceVersion: '9.9.9' },
    (resource) => new LoggerProvider({ resource, processors: [processor] }).getLogger('armorwatch', '9.9.9'));
  for (const m of [SEED_MATCH, EXEC_MATCH, HOST_MATCH]) cache.get(m.workload, m.node).emit(matchToLogRecord(m, [1795885200, 5]));
  for (let i = 0; i < 300; i++) {
    const a = podMatch(i % 20, i);
    cache.get(a.workload, a.node).emit(matchToLogRecord(a, [1795885200 + i, i * 1000]));
  }
  sameBytes(held);
  // And again: a cached Resource encoding is reused, not corrupted.
  sameBytes(held.slice(7, 150));
  // One record, and no record at all.
  sameBytes(held.slice(0, 1));
  sameBytes([]);
});

// Strings of every size class: the one-byte length guess right and wrong (127/128 bytes), multi-byte UTF-8, lone surrogates.
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', minLength: 40, maxLength: 90 }),
  fc.integer({ min: 120, max: 20_000 }).map((n) => 'a'.repeat(n)),
  fc.constantFrom('\uD800', 'x\uDFFFy', 'é'.repeat(64), '🛡'.repeat(33)),
);
const scalar: fc.Arbitrary<AnyValue> = fc.oneof(
  text,
  fc.boolean(),
  fc.integer(),
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  fc.constantFrom(0, -1, 2 ** 32, 2 ** 32 - 1, -(2 ** 31), 2 ** 63, -(2 ** 63)),
  fc.double(),
  fc.uint8Array({ maxLength: 40 }),
);
const value: fc.Arbitrary<AnyValue> = fc.letrec<{ v: AnyValue }>((tie) => ({
  v: fc.oneof({ maxDepth: 3 },
    scalar,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('v'), { maxKeys: 4 })),
})).v;
const attrs = fc.dictionary(fc.oneof(fc.string({ maxLength: 30 }), text), value, { maxKeys: 12 }) as fc.Arbitrary<Attributes>;
const hex = (n: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
const oneRecord = fc.record({
  workload: fc.nat({ max: 3 }),
  scope: fc.nat({ max: 2 }),
  time: fc.tuple(fc.integer({ min: 0, max: 4_102_444_800 }), fc.integer({ min: 0, max: 999_999_999 })),
  severityNumber: fc.option(fc.integer({ min: 0, max: 24 }), { nil: undefined }),
  severityText: fc.option(text, { nil: undefined }),
  body: fc.option(value, { nil: undefined }),
  eventName: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
  attributes: attrs,
  span: fc.option(fc.record({ traceId: hex(16), spanId: hex(8), traceFlags: fc.constantFrom(0, 1) }), { nil: undefined }),
});

test('generated records of every value kind, several resources and scopes: the library\'s exact bytes', () => {
  fc.assert(fc.property(fc.array(oneRecord, { maxLength: 12 }), fc.array(attrs, { minLength: 4, maxLength: 4 }), (recs, resAttrs) => {
    const { held, processor } = recorder();
    const loggers = resAttrs.map((a) => {
      const provider = new LoggerProvider({ resource: resourceFromAttributes(a), processors: [processor] });
      return [provider.getLogger('s0'), provider.getLogger('s1', '1.2.3'), provider.getLogger('s2', undefined, { schemaUrl: 'https://opentelemetry.io/schemas/1.37.0' })];
    });
    for (const r of recs) {
      const logger = loggers[r.workload]![r.scope]!;
      const record: Parameters<typeof logger.emit>[0] = { timestamp: r.time, observedTimestamp: r.time, attributes: r.attributes };
      if (r.severityNumber !== undefined) record.severityNumber = r.severityNumber;
      if (r.severityText !== undefined) record.severityText = r.severityText;
      if (r.body !== undefined) record.body = r.body;
      if (r.eventName !== undefined) record.eventName = r.eventName;
      logger.emit(record);
      if (r.span !== undefined) (held[held.length - 1] as { spanContext?: unknown }).spanContext = { ...r.span };
    }
    sameBytes(held);
  }), { numRuns: 300 });
});

test('a request larger than the scratch buffer grows it and still matches', () => {
  const { held, processor } = recorder();
  const logger = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'big' }), processors: [processor] }).getLogger('armorwatch');
  const big = 'p'.repeat(70_000);
  for (let i = 0; i < 40; i++) logger.emit({ body: big, attributes: { i, path: `/${big}/${i}` } });
  sameBytes(held);
  sameBytes(held.slice(0, 2));
});
