// Policy folder watching benchmark: idle CPU of a PolicyStore (default settings) over folders of
// 1, 500 and 5,000 policy files; the delay from changing one file to the reload that applies it;
// and, under continuous churn (one write every 50 ms), the delay from the first write to the first
// reload. Usage: npm run bench:watch   (BENCH_WATCH_FILES=1,500,5000 BENCH_WATCH_IDLE_S=65)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyStore, type ReloadEvent } from '../src/policy/watch.ts';

const COUNTS = (process.env.BENCH_WATCH_FILES ?? '1,500,5000').split(',').map(Number);
// Longer than the 30 s safety-net rescan, twice over, so the idle figure includes rescans.
const IDLE_S = Number(process.env.BENCH_WATCH_IDLE_S ?? 65);

const policy = (i: number, path: string): string => `apiVersion: security.kubearmor.com/v1
kind: KubeArmorPolicy
metadata:
  name: p${i}
  namespace: bench
spec:
  selector:
    matchLabels:
      app: web
  file:
    matchPaths:
      - path: ${path}
  action: Audit
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function waitReload(store: PolicyStore, pred: (ev: ReloadEvent) => boolean, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reload')), timeoutMs);
    store.onReload((ev) => { if (pred(ev)) { clearTimeout(timer); resolve(Date.now()); } });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function one(count: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'aw-bench-watch-'));
  try {
    for (let i = 0; i < count; i++) writeFileSync(join(dir, `p${i}.yaml`), policy(i, `/etc/bench/${i}`));
    const store = new PolicyStore({ paths: [dir] });
    const t0 = Date.now();
    await store.start();
    const firstLoadMs = Date.now() - t0;
    await sleep(2000);

    const cpu0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    await sleep(IDLE_S * 1000);
    const cpu = process.cpuUsage(cpu0);
    const wallUs = Number(process.hrtime.bigint() - w0) / 1000;
    const idleCpuPct = ((cpu.user + cpu.system) / wallUs) * 100;

    // Change one file: the time until the reload that carries the change.
    const reloadMs: number[] = [];
    for (let k = 0; k < 5; k++) {
      const path = `/etc/bench/changed-${k}`;
      const at = Date.now();
      const done = waitReload(store, (ev) => ev.filter.exactPaths.includes(path));
      writeFileSync(join(dir, 'p0.yaml'), policy(0, path));
      reloadMs.push((await done) - at);
      await sleep(500);
    }

    // Churn: a write every 50 ms for 5 s; the first reload must not wait for the writes to stop.
    const first = Date.now();
    const firstReload = waitReload(store, () => true);
    let stop = false;
    const churn = (async () => {
      for (let k = 0; !stop && Date.now() - first < 5000; k++) {
        writeFileSync(join(dir, 'p1.yaml'), policy(1, `/etc/bench/churn-${k}`));
        await sleep(50);
      }
    })();
    const churnFirstReloadMs = (await firstReload) - first;
    stop = true;
    await churn;
    await store.close();
    return { files: count, firstLoadMs, idleSeconds: IDLE_S, idleCpuPct: Number(idleCpuPct.toFixed(2)),
      reloadMsMedian: median(reloadMs), reloadMsMax: Math.max(...reloadMs), churnFirstReloadMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { loadavg } = await import('node:os');
console.log(JSON.stringify({ node: process.version, loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))) }));
for (const n of COUNTS) console.log(JSON.stringify(await one(n)));
console.log(JSON.stringify({ loadavgAtEnd: loadavg().map((x) => Number(x.toFixed(2))) }));
