// An event of an unknown cgroup is held while the runtime is asked, but not for longer than holdMs:
// with a runtime that never answers, it goes on with what the cgroup path says and is counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnricher } from '../../src/enrich/index.ts';
import { silentLogger } from '../../src/log.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { cgroupOf, randomContainerId, UNIFIED } from '../helpers/containerd.ts';
import { eventFor } from './event.ts';

test('a lookup slower than holdMs releases the event with the cgroup-path identity and counts it', async (t) => {
  if (!needsBpf(t)) return; // root, to make a cgroup
  const dir = mkdtempSync(join(tmpdir(), 'aw-hold-'));
  // A "containerd" that accepts connections and never says a word.
  const sockets = new Set<Socket>();
  const mute = createServer((s) => { sockets.add(s); });
  const socket = join(dir, 'mute.sock');
  await new Promise<void>((r) => mute.listen(socket, r));
  const uid = randomUUID();
  const id = randomContainerId();
  const cg = join(UNIFIED, `kubepods/besteffort/pod${uid}/${id}`);
  mkdirSync(cg, { recursive: true });
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => sleeper.once('spawn', r));
  writeFileSync(join(cg, 'cgroup.procs'), String(sleeper.pid));
  const enricher = createEnricher({ logger: silentLogger, nodeName: 'node-a', kubernetes: 'off', holdMs: 200, containerdSocket: socket });
  t.after(async () => {
    await enricher.close();
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    rmdirSync(cg);
    rmdirSync(join(cg, '..'));
    for (const s of sockets) s.destroy();
    await new Promise((r) => mute.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const { id: cgroupId } = await cgroupOf(sleeper.pid!);
  const pending = enricher.resolve(eventFor({ pid: sleeper.pid!, cgroupId, mntNs: 1, pidNs: 1, netNs: 1 }));
  assert.ok(pending instanceof Promise);
  const w = await pending;
  assert.deepEqual(w, { kind: 'container', containerId: id, podUid: uid, labels: {} });
  assert.equal(enricher.stats().unattributed, 1);
  assert.equal(enricher.stats().timers, 0, 'the hold timer is gone once it fired');
});
