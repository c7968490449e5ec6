// The start-up check that the export queues fit under the heap cap bin/armorwatch sets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/errors.ts';
import { checkHeapForQueues, heapNeededMb } from '../../src/export/heap.ts';

const MiB = 1024 * 1024;
const BIN = fileURLToPath(new URL('../../bin/armorwatch', import.meta.url));

test('the default queue (32 MiB) fits under the default cap of bin/armorwatch in every exporter mode', () => {
  const limit = 192 * MiB + 12 * MiB; // old space + young generation (3 × 4 MB semi-spaces)
  for (const mode of ['otlp', 'stdout', 'both'] as const) assert.doesNotThrow(() => checkHeapForQueues(mode, 32 * MiB, limit), mode);
  assert.ok(heapNeededMb('both', 32 * MiB) > heapNeededMb('otlp', 32 * MiB));
  assert.ok(heapNeededMb('otlp', 32 * MiB) > heapNeededMb('stdout', 32 * MiB));
});

test('a queue that could outgrow the heap is refused up front, naming the flag and what to raise', () => {
  assert.throws(() => checkHeapForQueues('otlp', 512 * MiB, 216 * MiB), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.equal(err.code, 'AW_USAGE');
    assert.match(err.message, /--queue-bytes \(ARMORWATCH_QUEUE_BYTES\) 512 MiB/);
    assert.match(err.message, new RegExp(`ARMORWATCH_HEAP_MB=${heapNeededMb('otlp', 512 * MiB)}`));
    return true;
  });
});

test('through bin/armorwatch, a queue too large for the default heap cap stops the agent before it starts; ARMORWATCH_HEAP_MB must be a number', () => {
  const run = (env: Record<string, string>): { status: number | null; stderr: string } => {
    const r = spawnSync(BIN, ['run', '--policies', tmpdir(), '--exporter', 'stdout', '--queue-bytes', '1GiB'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stderr: r.stderr };
  };
  const capped = run({});
  assert.equal(capped.status, 2, capped.stderr);
  assert.match(capped.stderr, /--queue-bytes \(ARMORWATCH_QUEUE_BYTES\) 1024 MiB with --exporter stdout needs a JavaScript heap of about \d+ MB, but this process may use only \d+ MB/);
  const bad = run({ ARMORWATCH_HEAP_MB: 'lots' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /ARMORWATCH_HEAP_MB must be a whole number of MB, got "lots"/);
});
