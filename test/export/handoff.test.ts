// Attributes handed to the record as built (handoff.ts) must reach the wire exactly as the SDK's own
// key-by-key copy would have sent them: absent (undefined) fields left out, everything else equal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AttributeHandOff } from '../../src/export/handoff.ts';
import { estimateRecordBytes } from '../../src/export/processor.ts';
import { LogsSerializer } from '../../src/export/protobuf.ts';
import { matchRecordFields, matchToLogRecord, recordAttributes } from '../../src/export/record.ts';
import { ResourceCache } from '../../src/export/resource.ts';
import type { Match } from '../../src/types.ts';
import { EXEC_MATCH, podMatch, SEED_DECISION, SEED_EVENT, SEED_MATCH } from './fixtures.ts';

function pipeline(withHandOff: boolean): { held: ReadableLogRecord[]; handOff: AttributeHandOff; cache: ResourceCache<ReturnType<LoggerProvider['getLogger']>> } {
  const held: ReadableLogRecord[] = [];
  const keep = { onEmit: (r: ReadableLogRecord): void => { held.push(r); }, forceFlush: async () => {}, shutdown: async () => {} };
  const handOff = new AttributeHandOff();
  const cache = new ResourceCache({ serviceName: 'armorwatch', serviceVersion: '1.0.0' },
    (resource) => new LoggerProvider({ resource, processors: withHandOff ? [handOff, keep] : [keep] }).getLogger('armorwatch', '1.0.0'));
  return { held, handOff, cache };
}

test('handed-off attributes encode exactly as the SDK-copied ones, absent fields left out', () => {
  const alerts: Match[] = [
    SEED_MATCH,
    { ...SEED_MATCH, event: { ...SEED_EVENT, cwd: '' }, decision: { ...SEED_DECISION, tags: [], message: undefined, severity: undefined } },
    EXEC_MATCH, { ...EXEC_MATCH, event: { ...EXEC_MATCH.event, kind: 'process', argvTruncated: true, tty: null } as Match['event'] },
    ...Array.from({ length: 50 }, (_, i) => podMatch(i % 7, i)),
  ];
  const viaSdk = pipeline(false);
  const viaHandOff = pipeline(true);
  alerts.forEach((a, i) => {
    viaSdk.cache.get(a.workload, a.node).emit(matchToLogRecord(a, [1795885200, i]));
    viaHandOff.handOff.emit(viaHandOff.cache.get(a.workload, a.node), matchRecordFields(a, [1795885200, i]), recordAttributes(a));
  });
  assert.equal(viaHandOff.held.length, alerts.length);
  // The object handed over is the one the record carries (no copy), and it does hold absent fields.
  const second = viaHandOff.held[1] as ReadableLogRecord;
  assert.ok(Object.values(second.attributes).includes(undefined));
  assert.ok(!Object.values(viaSdk.held[1]!.attributes).includes(undefined));
  const ours = Buffer.from(LogsSerializer.serializeRequest(viaHandOff.held)!);
  const sdk = Buffer.from(ProtobufLogsSerializer.serializeRequest(viaSdk.held)!);
  assert.ok(ours.equals(sdk), `${ours.length} vs ${sdk.length} bytes`);
  // The queue's size estimate does not count absent fields either.
  assert.equal(estimateRecordBytes(second), estimateRecordBytes(viaSdk.held[1]!));
});

test('a record emitted outside a hand-off keeps the attributes the SDK copied', () => {
  const p = pipeline(true);
  p.handOff.emit(p.cache.get(SEED_MATCH.workload, SEED_MATCH.node), matchRecordFields(SEED_MATCH, [1, 2]), { first: 1 });
  p.cache.get(SEED_MATCH.workload, SEED_MATCH.node).emit({ body: 'plain', attributes: { second: 2 } });
  assert.deepEqual(p.held.map((r) => ({ ...r.attributes })), [{ first: 1 }, { second: 2 }]);
});
