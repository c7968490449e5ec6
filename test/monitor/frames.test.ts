import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader } from '../../src/monitor/frames.ts';

function frame(type: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const h = Buffer.alloc(8);
  h.writeUInt32LE(body.length, 0);
  h.writeUInt32LE(type, 4);
  return Buffer.concat([h, body]);
}

test('frames split across chunks at any byte come out whole and in order', () => {
  const stream = Buffer.concat([frame(3, '{"a":1}'), frame(2, 'x'.repeat(300)), frame(4, '')]);
  for (let cut = 1; cut < stream.length; cut += 7) {
    const got: Array<[number, string]> = [];
    const r = new FrameReader();
    r.push(stream.subarray(0, cut), (t, p) => got.push([t, p.toString()]));
    r.push(stream.subarray(cut), (t, p) => got.push([t, p.toString()]));
    assert.deepEqual(got, [[3, '{"a":1}'], [2, 'x'.repeat(300)], [4, '']]);
  }
});

test('an impossible frame length is reported instead of waiting forever', () => {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(10_000_000, 0);
  assert.throws(() => new FrameReader().push(h, () => {}), /out of step/);
});

test('frames fed one byte at a time, and in uneven chunks, come out whole and in order', () => {
  const want: Array<[number, string]> = [[3, '{"a":1}'], [2, 'x'.repeat(300)], [4, ''], [2, 'y'.repeat(70)]];
  const stream = Buffer.concat(want.map(([t, p]) => frame(t, p)));
  for (const size of [1, 3, 8, 9, 64, 500]) {
    const got: Array<[number, string]> = [];
    const r = new FrameReader();
    for (let i = 0; i < stream.length; i += size) r.push(stream.subarray(i, i + size), (t, p) => got.push([t, p.toString()]));
    assert.deepEqual(got, want, `chunks of ${size} bytes`);
  }
});
