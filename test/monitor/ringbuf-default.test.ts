// One ring-buffer default: src/config owns it; the helper has none of its own and the docs say the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RING_BUFFER_DEFAULT } from '../../src/config/parse.ts';
import { RUN_OPTIONS } from '../../src/config/options.ts';
import { size } from '../../src/config/values.ts';
import { defaultHelperPath } from '../../src/monitor/preflight.ts';

const read = (rel: string): string => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');
const MIB = RING_BUFFER_DEFAULT / (1024 * 1024);

test('the option table, --help and the docs show the default the parser uses', () => {
  const opt = RUN_OPTIONS.find((o) => o.name === 'ring-buffer-size')!;
  assert.equal(size({ value: opt.default, source: 'default' }), RING_BUFFER_DEFAULT);
  assert.match(read('docs/OPERATIONS.md'), new RegExp(`ring buffer is ${MIB} MiB by default`));
});

test('the helper has no default of its own: without --ringbuf-bytes it refuses to start', () => {
  const r = spawnSync(defaultHelperPath(), [], { input: '', encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /usage: armorwatch-monitor --ringbuf-bytes N/);
  // No size constant left in the helper or the kernel program to disagree with src/config.
  assert.doesNotMatch(read('native/armorwatch-monitor.c'), /ringbuf_bytes\s*=\s*\d/);
  assert.match(read('bpf/armorwatch.bpf.c'), /BPF_MAP_TYPE_RINGBUF\);\n\t__uint\(max_entries, 4096\); \/\* a placeholder/);
});
