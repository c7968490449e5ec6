// Fault suite: containerd unreachable while containers keep starting. Every lookup fails and is
// counted, but the same warning is logged once, not once per container.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createEnricher } from '../../src/enrich/index.ts';
import { cgroupOf, randomContainerId, UNIFIED } from '../helpers/containerd.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { eventFor } from '../enrich/event.ts';

test('containerd unreachable: 6 containers, 6 failed lookups counted, one warning logged', { timeout: 60_000 }, async (t) => {
  if (!needsBpf(t)) return; // root, to make cgroups
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => { logs.push(JSON.parse(s) as Record<string, unknown>); } });
  const enricher = createEnricher({ logger, nodeName: 'node-a', kubernetes: 'off', holdMs: 2000, containerdSocket: '/nonexistent/containerd.sock' });
  const made: Array<{ cg: string; proc: ChildProcess }> = [];
  t.after(async () => {
    await enricher.close();
    for (const { cg, proc } of made) {
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      rmdirSync(cg);
      rmdirSync(join(cg, '..'));
    }
  });
  for (let i = 0; i < 6; i++) {
    const cg = join(UNIFIED, `kubepods/besteffort/pod${randomUUID()}/${randomContainerId()}`);
    mkdirSync(cg, { recursive: true });
    const proc = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((r) => proc.once('spawn', r));
    writeFileSync(join(cg, 'cgroup.procs'), String(proc.pid));
    made.push({ cg, proc });
    const { id } = await cgroupOf(proc.pid!);
    await enricher.resolve(eventFor({ pid: proc.pid!, cgroupId: id, mntNs: 1, pidNs: 1, netNs: 1 }));
  }
  const warnings = logs.filter((l) => l.level === 40 && /lookup failed/.test(String(l.msg)));
  assert.equal(enricher.stats().lookupFailures, 6);
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(enricher.stats().suppressedWarnings, 5);
});
