// UpdatedTime text: RFC 3339 with nanoseconds, the seconds part cached across calls.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { rfc3339Nano, splitNs } from '../../src/format/time.ts';

function reference(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

test('the seed alert time, and times near second and epoch edges', () => {
  assert.equal(rfc3339Nano(1795885200123456789n), '2026-11-28T17:00:00.123456789Z');
  assert.equal(rfc3339Nano(1795885200999999999n), '2026-11-28T17:00:00.999999999Z');
  assert.equal(rfc3339Nano(1795885201000000000n), '2026-11-28T17:00:01.000000000Z');
  assert.equal(rfc3339Nano(5n), '1970-01-01T00:00:00.000000005Z');
  assert.deepEqual(splitNs(1795885200000000042n), ['1795885200', '000000042', '1795885200000000042']);
  assert.deepEqual(splitNs(42n), ['0', '000000042', '42']);
});

test('any time, in any order (the cached second must never leak into another second)', () => {
  fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: 4_102_444_800_000_000_000n }), { minLength: 1, maxLength: 20 }), (times) => {
    for (const ns of times) assert.equal(rfc3339Nano(ns), reference(ns));
  }), { numRuns: 500 });
});
