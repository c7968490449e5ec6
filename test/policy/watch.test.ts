// Hot reload with a real directory rewritten the way kubelet updates a ConfigMap volume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PolicyStore, RETRY_FIRST_MS, type ReloadEvent } from '../../src/policy/watch.ts';
import { writeConfigMap } from './configmap.ts';
import { event, ksp, NODE, WEB } from './helpers.ts';
import { defer } from '../helpers/cleanup.ts';

const body = (p: string) => `  action: Audit\n  file:\n    matchPaths:\n      - path: ${p}`;

/** Resolves with the next reload event, or rejects after `ms`. */
function nextReload(store: PolicyStore, ms: number): Promise<ReloadEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reload within ${ms} ms`)), ms);
    store.onReload((ev) => { clearTimeout(timer); resolve(ev); });
  });
}

function decides(store: PolicyStore, path: string): string | null {
  return store.engine.decide({ event: event({ absPath: path, resolvedPath: path }), workload: WEB }, NODE)?.policyName ?? null;
}

function setup(t: { after(fn: () => unknown): void }, logLines?: string[], rescanMs = 500): { root: string; store: PolicyStore } {
  const dir = mkdtempSync(join(tmpdir(), 'aw-watch-'));
  const root = join(dir, 'policies');
  const logger = pino({ level: 'debug' }, { write: (s: string) => { logLines?.push(s); } });
  const store = new PolicyStore({ paths: [root], logger, debounceMs: 200, rescanMs });
  defer(t, 'remove dir', () => rmSync(dir, { recursive: true, force: true }));
  defer(t, 'store.close', () => store.close());
  return { root, store };
}

test('a ConfigMap update is in force within 2 s, as one reload, logged with what changed', async (t) => {
  const logs: string[] = [];
  const { root, store } = setup(t, logs);
  const configMap = '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n';
  writeConfigMap(root, { 'a.yaml': ksp('a', body('/etc/a')) + configMap, 'b.yaml': ksp('b', body('/etc/b')) });
  const first = await store.start();
  const skipped = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'not a policy document; skipped');
  assert.deepEqual([skipped?.kind, skipped?.doc], ['ConfigMap', 1]);
  assert.deepEqual(first.added, ['KubeArmorPolicy/shop/a', 'KubeArmorPolicy/shop/b']);
  assert.equal(decides(store, '/etc/a'), 'a');

  // b changes its path, a disappears, c appears: one atomic swap of ..data.
  const reloaded = nextReload(store, 2000);
  writeConfigMap(root, { 'b.yaml': ksp('b', body('/etc/b2')), 'c.yaml': ksp('c', body('/etc/c')) });
  const ev = await reloaded;
  assert.deepEqual(ev.added, ['KubeArmorPolicy/shop/c']);
  assert.deepEqual(ev.updated, ['KubeArmorPolicy/shop/b']);
  assert.deepEqual(ev.removed, ['KubeArmorPolicy/shop/a']);
  assert.equal(decides(store, '/etc/a'), null);
  assert.equal(decides(store, '/etc/b'), null);
  assert.equal(decides(store, '/etc/b2'), 'b');
  assert.equal(decides(store, '/etc/c'), 'c');
  assert.deepEqual(ev.filter.exactPaths, ['/etc/b2', '/etc/c']);
  // Quiet afterwards: periodic rescans of unchanged files do not reload.
  const gen = store.state!.generation;
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(store.state!.generation, gen);
  const log = logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'policies loaded');
  assert.deepEqual(log.at(-1)?.removed, ['KubeArmorPolicy/shop/a']);
});

test('a burst of writes gives one reload', async (t) => {
  // No periodic rescan here: this is about the watcher's events being debounced into one reload.
  const { root, store } = setup(t, undefined, 60_000);
  writeConfigMap(root, { 'a.yaml': ksp('a', body('/etc/a')) });
  await store.start();
  const gens: number[] = [];
  store.onReload((ev) => gens.push(ev.generation));
  for (let i = 0; i < 10; i++) writeConfigMap(root, { 'a.yaml': ksp('a', body(`/etc/a${i}`)) });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(gens.length, 1, `reloads: ${gens.join(',')}`);
  assert.equal(decides(store, '/etc/a9'), 'a');
});

test('an invalid update keeps the last valid version and reports it', async (t) => {
  const { root, store } = setup(t);
  writeConfigMap(root, { 'a.yaml': ksp('a', body('/etc/a')) });
  await store.start();
  const reloaded = nextReload(store, 2000);
  writeConfigMap(root, { 'a.yaml': ksp('a', body('/etc/a').replace('matchPaths', 'matchPath')) });
  const ev = await reloaded;
  assert.equal(ev.rejected.length, 1);
  assert.equal(ev.rejected[0]!.key, 'KubeArmorPolicy/shop/a');
  assert.equal(ev.rejected[0]!.keptPrevious, true);
  assert.match(ev.rejected[0]!.problems[0]!.message, /unknown field "matchPath" \(did you mean "matchPaths"\?\)/);
  assert.equal(decides(store, '/etc/a'), 'a');
  // A YAML syntax error (no key readable): the document at that position stays too.
  const again = nextReload(store, 2000);
  writeConfigMap(root, { 'a.yaml': 'apiVersion: [\n' });
  const ev2 = await again;
  assert.equal(ev2.rejected[0]!.keptPrevious, true);
  assert.equal(decides(store, '/etc/a'), 'a');
});

test('a plain file edited in place and a new file are picked up', async (t) => {
  const { root, store } = setup(t);
  writeConfigMap(root, {});
  writeFileSync(join(root, 'plain.yaml'), ksp('p', body('/etc/p')));
  await store.start();
  const reloaded = nextReload(store, 2000);
  writeFileSync(join(root, 'plain.yaml'), ksp('p', body('/etc/p2')));
  writeFileSync(join(root, 'new.yaml'), ksp('new', body('/etc/n')));
  await reloaded;
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(decides(store, '/etc/p2'), 'p');
  assert.equal(decides(store, '/etc/n'), 'new');
  // Deleting the file removes its policies.
  const removed = nextReload(store, 2000);
  rmSync(join(root, 'new.yaml'));
  const ev = await removed;
  assert.deepEqual(ev.removed, ['KubeArmorPolicy/shop/new']);
});

test('a change the kernel filter switch refuses is tried again after 1 s, then 2 s, not only at the rescan, and the status says when', async (t) => {
  const { root, store } = setup(t, undefined, 3_600_000);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'p.yaml'), ksp('first', body('/etc/first')));
  await store.start();
  // The kernel switch fails twice (a helper busy, say), then goes through.
  let calls = 0;
  store.useSwitch(async () => { if (++calls <= 2) throw new Error(`switch failed (${calls})`); });
  const started = Date.now();
  const taken = nextReload(store, 10_000);
  writeFileSync(join(root, 'p.yaml'), ksp('second', body('/etc/second')));
  await new Promise((r) => setTimeout(r, 600));
  const st = store.status();
  assert.match(st.refusedChange ?? '', /switch failed \(1\)/);
  assert.ok(st.refusedRetryInMs !== null && st.refusedRetryInMs <= RETRY_FIRST_MS, `retry due within 1 s, got ${st.refusedRetryInMs}`);
  await taken;
  const took = Date.now() - started;
  assert.equal(calls, 3, 'refused twice, taken at the third try');
  assert.ok(took >= RETRY_FIRST_MS * 3 && took < 8_000, `taken after the 1 s and 2 s retries, in ${took} ms (the rescan is an hour)`);
  assert.equal(decides(store, '/etc/second'), 'second');
  assert.equal(store.status().refusedChange, null);
  assert.equal(store.status().refusedRetryInMs, null);
  assert.equal(store.status().refusedChanges.kernelFilter, 2);
});
