// The kernel filter's capacity in the policy store: a set needing more entries fails the first
// load naming its biggest policies, and a later change needing more is refused as a whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FilterCapacityError } from '../../src/policy/capacity.ts';
import { PolicyStore } from '../../src/policy/watch.ts';
import { event, ksp, NODE, WEB } from './helpers.ts';
import { defer } from '../helpers/cleanup.ts';

const paths = (...ps: string[]): string => `  action: Audit\n  file:\n    matchPaths:\n${ps.map((p) => `      - path: ${p}\n`).join('')}`;

function setup(t: { after(fn: () => unknown): void }, capacity: number, logLines: string[] = []): { root: string; store: PolicyStore } {
  const dir = mkdtempSync(join(tmpdir(), 'aw-capacity-'));
  const root = join(dir, 'policies');
  mkdirSync(root);
  const logger = pino({ level: 'info' }, { write: (s: string) => { logLines.push(s); } });
  const store = new PolicyStore({ paths: [root], logger, debounceMs: 100, rescanMs: 300, kernelFilterCapacity: capacity });
  defer(t, 'remove dir', () => rmSync(dir, { recursive: true, force: true }));
  defer(t, 'store.close', () => store.close());
  return { root, store };
}

function decides(store: PolicyStore, path: string): string | null {
  return store.engine.decide({ event: event({ absPath: path, resolvedPath: path }), workload: WEB }, NODE)?.policyName ?? null;
}

test('a first load over the capacity fails, naming the policies by entries, largest first', async (t) => {
  const { root, store } = setup(t, 2);
  writeFileSync(join(root, 'a.yaml'), ksp('small', paths('/etc/a')));
  writeFileSync(join(root, 'b.yaml'), ksp('big', paths('/etc/b', '/etc/c')));
  await assert.rejects(store.start(), (e: unknown) => {
    assert.ok(e instanceof FilterCapacityError);
    assert.equal(e.code, 'AW_POLICY_FILTER_CAPACITY');
    assert.deepEqual(e.needed, { exactPaths: 3, dirPrefixes: 0, executions: 0, identities: 3 });
    assert.deepEqual(e.contributors.map((c) => [c.file, c.policy, c.entries]), [
      [join(root, 'b.yaml'), 'KubeArmorPolicy/shop/big', 2], [join(root, 'a.yaml'), 'KubeArmorPolicy/shop/small', 1]]);
    return true;
  });
});

test('a change over the capacity is refused as a whole; the set in force stays until a change fits', async (t) => {
  const log: string[] = [];
  const { root, store } = setup(t, 2, log);
  writeFileSync(join(root, 'a.yaml'), ksp('old', paths('/etc/a', '/etc/b')));
  const first = await store.start();
  assert.equal(decides(store, '/etc/a'), 'old');
  writeFileSync(join(root, 'n.yaml'), ksp('new', paths('/etc/n')));
  // Edits to the file in force and a new file, together: none of it is taken.
  writeFileSync(join(root, 'a.yaml'), ksp('old', paths('/etc/a', '/etc/b2')));
  for (const until = Date.now() + 5000; store.status().refusedChange === null && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
  assert.match(String(store.status().refusedChange), /need 3 exact paths .*n\.yaml: KubeArmorPolicy\/shop\/new \(1\)/);
  assert.equal(store.state, first, 'the same engine and kernel filter stay in force');
  assert.equal(decides(store, '/etc/b'), 'old');
  assert.equal(decides(store, '/etc/b2'), null);
  assert.equal(decides(store, '/etc/n'), null);
  assert.ok(log.some((l) => l.includes('policy change refused, the policies in force stay') && l.includes('AW_POLICY_FILTER_CAPACITY')));
  // A change that fits is taken, and the refusal is cleared.
  rmSync(join(root, 'n.yaml'));
  for (const until = Date.now() + 5000; store.state === first && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
  assert.equal(decides(store, '/etc/b2'), 'old');
  assert.equal(store.status().refusedChange, null);
});
