// stdout mode: one JSON line per alert in KubeArmor's shape (the seed's field names), and a slow
// reader never makes memory grow: what cannot wait is counted as dropped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createAlertExporter, type ExportSettings } from '../../src/export/index.ts';
import { silentLogger } from '../../src/log.ts';
import { SEED_MATCH } from './fixtures.ts';

const settings: ExportSettings = {
  exporter: 'stdout', otlp: null, serviceName: 'armorwatch', statsIntervalMs: 0,
  queue: { maxRecords: 1000, maxBytes: 4096, batchRecords: 100, retryMaxElapsedMs: 0 },
};

/** Field names of the seed's "Expected Alert" block, as KubeArmor prints them. */
function seedFieldNames(): string[] {
  const shared = process.env.ARMORWATCH_SHARED_DIR ?? resolve(fileURLToPath(new URL('../../..', import.meta.url)), 'shared');
  const text = readFileSync(join(shared, 'seed', '000_f4fcaa6aaeb4368b.txt'), 'utf8');
  const block = text.slice(text.indexOf('Expected Alert'));
  return [...block.matchAll(/^([A-Za-z]+): /gm)].map((m) => m[1] as string);
}

test('each alert is one JSON line whose field names are the seed alert\'s', async () => {
  const script = fileURLToPath(new URL('./stdout-child.ts', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, err);
  const lines = out.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 3, 'one line per alert, nothing else on stdout');
  const names = seedFieldNames();
  assert.equal(names.length, 28, 'parsed the 28 field names of the seed alert');
  for (const line of lines) {
    const obj = JSON.parse(line) as Record<string, unknown>;
    for (const n of names) assert.ok(n in obj, `field ${n} of the seed alert is in the line`);
    assert.equal(obj.PolicyName, 'ksp-nist-ac-18-1-network-audit');
    assert.equal(obj.Resource, '/etc/network/if-up.d');
    assert.equal(obj.HostPID, 1275441, 'numbers stay numbers');
  }
});

test('a reader that does not read: lines beyond the byte limit are dropped and counted, the rest delivered', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => { release = r; });
  let received = 0;
  const slow = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) { received += chunk.toString().split('\n').length - 1; void gate.then(() => cb()); },
  });
  const exp = createAlertExporter(settings, silentLogger, { stdout: slow });
  for (let i = 0; i < 200; i++) exp.export(SEED_MATCH);
  const mid = exp.stats().stdout;
  assert.ok(mid !== undefined && mid.dropped.queue_full > 0, 'the 4 KiB limit was reached');
  assert.ok(mid.pending <= 4096 / 1000 + 1, 'no more than the limit is held');
  release();
  const s = (await exp.shutdown(5000)).stdout;
  assert.ok(s);
  assert.equal(s.offered, 200);
  assert.equal(s.written + s.dropped.queue_full + s.dropped.shutdown, 200, 'every line is written or counted');
  assert.equal(received, s.written);
});
