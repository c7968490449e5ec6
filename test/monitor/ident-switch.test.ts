// Real eBPF (issue 14 part 2): the watched identities switch with the rest of the kernel filter,
// whole. A full set replaced by a different full set: the new identities pass and the old ones no
// longer (the two sets sit side by side until the switch); a set over the capacity is refused and
// the one in force stays; a small set after all that is taken (nothing left over fills the map);
// a change of the path filter keeps the identities in force; and the network filter is part of the
// same switch: an identity update keeps it, a refused switch leaves it, a taken one changes it, each
// together with the rest. The files are opened by their own
// names, which the path filter does not hold: only their identity can let them through. Absence is
// shown by ordering: an event that would have come before a later one did not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveIdentities } from '../../src/policy/identity.ts';
import type { FileEvent, KernelFilterSpec, NetworkFilterSpec, WatchedIdentity } from '../../src/types.ts';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { collect, run, type Collected } from './harness.ts';

const CAPACITY = 2000;
const NETOPS = new URL('../../build/netops', import.meta.url).pathname;
const CONNECTS: NetworkFilterSpec = { passAll: false, calls: ['connect'], protocols: [6] };
let c: Collected | null = null;
let dir = '';
const real = new Map<string, WatchedIdentity>();
const p = (name: string): string => join(dir, name);
const filter = (exactPaths: string[]): KernelFilterSpec => ({ passAll: false, exactPaths, dirPrefixes: [] });
/** `n` identities no file has (a device no file system uses), numbered from `from`, then the real ones named. */
const set = (from: number, n: number, ...names: string[]): WatchedIdentity[] => [
  ...Array.from({ length: n }, (_, i) => ({ dev: 0xffff0, ino: BigInt(from + i), path: `/aw-none/${from + i}` })),
  ...names.map((f) => real.get(f)!),
];
const opened = (pid: number, name: string) => (e: FileEvent): boolean => e.hostPid === pid && e.absPath === p(name);

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-ident-switch-')));
  for (const f of ['a', 'b', 'marker']) writeFileSync(p(f), f);
  const r = await resolveIdentities([p('a'), p('b')]);
  assert.deepEqual(r.unresolved, []);
  for (const id of r.identities) real.set(id.path.slice(dir.length + 1), id);
  c = await collect({ kernelFilterCapacity: CAPACITY, pathFilter: filter([p('marker')]) });
}, { timeout: 120_000 });
after(async () => {
  await c?.monitor.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('a full set of identities replaced by a different full set: the new ones pass, the old ones no longer', async (t) => {
  if (!needsBpf(t)) return;
  await c!.monitor.setIdentities(set(1, CAPACITY - 1, 'a'));
  const a0 = run('/bin/cat', [p('a')]);
  const ev = await c!.waitFor(opened(a0, 'a'), 'a, watched by identity');
  assert.deepEqual(ev.identityPaths, [{ path: p('a'), containerId: null }]);
  await c!.monitor.setIdentities(set(100_000, CAPACITY - 1, 'b'));
  const a1 = run('/bin/cat', [p('a')]);
  const b1 = run('/bin/cat', [p('b')]);
  await c!.waitFor(opened(b1, 'b'), 'b, under the new set');
  assert.equal(c!.events.some(opened(a1, 'a')), false, 'a passed after the switch to a set without it');
});

test('a set over the capacity is refused, the set in force stays whole, and a later small set is taken', async (t) => {
  if (!needsBpf(t)) return;
  await assert.rejects(c!.monitor.setIdentities(set(200_000, CAPACITY, 'a')), /2001 watched identities.*2000/);
  const a1 = run('/bin/cat', [p('a')]);
  const b1 = run('/bin/cat', [p('b')]);
  await c!.waitFor(opened(b1, 'b'), 'b, still watched after the refusal');
  assert.equal(c!.events.some(opened(a1, 'a')), false, 'a passed although the set naming it was refused');
  await c!.monitor.setIdentities(set(300_000, 10, 'a'));
  const b2 = run('/bin/cat', [p('b')]);
  const a2 = run('/bin/cat', [p('a')]);
  await c!.waitFor(opened(a2, 'a'), 'a, once a valid set names it');
  assert.equal(c!.events.some(opened(b2, 'b')), false, 'b passed after the switch to a set without it');
});

test('a change of the path filter keeps the identities in force', async (t) => {
  if (!needsBpf(t)) return;
  await c!.monitor.setPathFilter(filter([p('marker'), p('b')]));
  const a1 = run('/bin/cat', [p('a')]);
  await c!.waitFor(opened(a1, 'a'), 'a, watched by identity across a path filter switch');
  const b1 = run('/bin/cat', [p('b')]);
  const ev = await c!.waitFor(opened(b1, 'b'), 'b, by its path');
  assert.equal(ev.identityPaths, null, 'b matched an identity it no longer has');
});

test('the network filter switches with the rest: kept by an identity update, left whole by a refused switch, changed by a taken one', async (t) => {
  if (!needsBpf(t)) return;
  /** A TCP connect to a closed local port by a process that opens `marker` first; its pid. */
  const connect = (): number => run(NETOPS, ['connect', '127.0.0.1', '9'], '/', { ...process.env, AW_MARK: p('marker') });
  const connected = (pid: number) => (e: { hostPid: number; syscall: string }): boolean => e.hostPid === pid && e.syscall === 'connect';
  await c!.monitor.setPathFilter({ ...filter([p('marker')]), network: CONNECTS });
  const n0 = connect();
  await c!.waitForNet(connected(n0), 'a connect under the network filter');
  await c!.monitor.setIdentities(set(400_000, 5, 'b'));
  const n1 = connect();
  await c!.waitForNet(connected(n1), 'a connect after an identity update');
  // Refused (paths over the capacity) with the network filter off: nothing of it is taken.
  await assert.rejects(c!.monitor.setPathFilter(filter(Array.from({ length: CAPACITY + 1 }, (_, i) => `/opt/aw-none/${i}`))), /over the capacity/);
  const n2 = connect();
  await c!.waitForNet(connected(n2), 'a connect after the refused switch');
  const b2 = run('/bin/cat', [p('b')]);
  await c!.waitFor(opened(b2, 'b'), 'b, still watched by identity after the refused switch');
  // Taken with the network filter off: connects no longer pass, files still do.
  await c!.monitor.setPathFilter(filter([p('marker')]));
  const n3 = connect();
  await c!.waitFor((e) => e.hostPid === n3 && e.absPath === p('marker'), 'the marker opened by the last connecting process');
  const b3 = run('/bin/cat', [p('b')]);
  await c!.waitFor(opened(b3, 'b'), 'b, opened after the last connect');
  assert.equal(c!.nets.some(connected(n3)), false, 'a connect passed after the switch to a filter without network calls');
});
