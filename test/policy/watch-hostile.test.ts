// Hostile changes planted into a running PolicyStore: link loops, links to `/`, FIFOs, a 400 MB
// file. Reloads keep working, what is passed over is reported once, and continuous churn cannot
// postpone a reload indefinitely.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PolicyStore, type ReloadEvent } from '../../src/policy/watch.ts';
import { ksp } from './helpers.ts';
import { defer } from '../helpers/cleanup.ts';

const body = (p: string) => `  action: Audit\n  file:\n    matchPaths:\n      - path: ${p}`;

function nextReload(store: PolicyStore, ms: number, when: (ev: ReloadEvent) => boolean = () => true): Promise<ReloadEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reload within ${ms} ms`)), ms);
    store.onReload((ev) => { if (when(ev)) { clearTimeout(timer); resolve(ev); } });
  });
}

function setup(t: { after(fn: () => unknown): void }, opts: { rescanMs?: number; debounceMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'aw-watch-hostile-'));
  const root = join(dir, 'policies');
  mkdirSync(root);
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => { logs.push(JSON.parse(s) as Record<string, unknown>); } });
  const store = new PolicyStore({ paths: [root], logger, debounceMs: opts.debounceMs ?? 100, rescanMs: opts.rescanMs ?? 60_000 });
  defer(t, 'remove dir', () => rmSync(dir, { recursive: true, force: true }));
  defer(t, 'store.close', () => store.close());
  return { dir, root, store, logs };
}

test('links to `.` and `/` and a FIFO planted while running: reported once, reloads go on', { timeout: 30_000 }, async (t) => {
  const { dir, root, store, logs } = setup(t, { rescanMs: 300 });
  writeFileSync(join(root, 'a.yaml'), ksp('a', body('/etc/a')));
  await store.start();
  symlinkSync('.', join(root, 'self1'));
  symlinkSync('.', join(root, 'self2'));
  symlinkSync('/', join(root, 'slash'));
  execFileSync('mkfifo', [join(root, 'pipe.yaml')]);
  execFileSync('mkfifo', [join(dir, 'outside')]);
  symlinkSync(join(dir, 'outside'), join(root, 'linked.yaml'));
  // A later, ordinary change is still picked up.
  const reloaded = nextReload(store, 10_000, (ev) => ev.added.includes('KubeArmorPolicy/shop/b'));
  writeFileSync(join(root, 'b.yaml'), ksp('b', body('/etc/b')));
  const ev = await reloaded;
  assert.equal(ev.policies, 2);
  await new Promise((r) => setTimeout(r, 1000)); // a few rescans
  const warned = logs.filter((l) => l.level === 40 && typeof l.reason === 'string').map((l) => `${String(l.path)} ${String(l.reason)}`).sort();
  assert.deepEqual(warned, [
    `${join(root, 'linked.yaml')} outside`, `${join(root, 'pipe.yaml')} not-regular`, `${join(root, 'self1')} loop`,
    `${join(root, 'self2')} loop`, `${join(root, 'slash')} outside`,
  ], 'each reported once, not at every rescan');
  assert.deepEqual(store.status().skippedEntries, { loop: 2, outside: 2, 'not-regular': 1 });
});

test('a 400 MB file planted while running is refused unread; the other policies stay', { timeout: 30_000 }, async (t) => {
  const { root, store } = setup(t);
  writeFileSync(join(root, 'a.yaml'), ksp('a', body('/etc/a')));
  await store.start();
  const before = process.resourceUsage().maxRSS;
  const reloaded = nextReload(store, 10_000);
  execFileSync('truncate', ['-s', '400M', join(root, 'big.yaml')]);
  const ev = await reloaded;
  const grew = (process.resourceUsage().maxRSS - before) / 1024;
  assert.equal(ev.policies, 1);
  assert.match(ev.rejected[0]!.problems[0]!.message, /file too large \(419430400 bytes; the limit is 1048576\)/);
  assert.ok(grew < 64, `peak RSS grew by ${grew.toFixed(0)} MiB`);
  assert.equal(store.status().unreadableFiles, 1);
});

test('continuous churn cannot hold a reload back: one happens while the writes go on', { timeout: 30_000 }, async (t) => {
  // Quiet time 500 ms; writes every 30 ms, so a plain debounce never finds it quiet until the end.
  const { root, store } = setup(t, { debounceMs: 500 });
  writeFileSync(join(root, 'a.yaml'), ksp('a', body('/etc/a0')));
  await store.start();
  const gens: number[] = [];
  store.onReload((ev) => gens.push(ev.generation));
  for (let i = 1; i <= 130; i++) {
    writeFileSync(join(root, 'a.yaml'), ksp('a', body(`/etc/a${i}`)));
    await new Promise((r) => setTimeout(r, 30));
  }
  const during = gens.length;
  assert.ok(during >= 2, `reloads while changes went on: ${during}`);
});

test('a folder with no policy file is reported, and its state shows in status()', async (t) => {
  const { root, store, logs } = setup(t);
  await store.start();
  assert.ok(logs.some((l) => l.level === 40 && l.msg === `policy folder ${root} holds no policy file (*.yaml, *.yml)`));
  assert.deepEqual(store.status().emptyFolders, [root]);
  assert.equal(store.status().policies, 0);
});
