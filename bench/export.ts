// npm run bench:export [-- --part stage|agent|both --seconds 10 --rates 10000,20000,30000 --records 200000]
// Part "stage": the export stage alone, side by side in one run against the same real Collector:
// the SDK's BatchLogRecordProcessor vs armorwatch's ReliableLogRecordProcessor, each fed the same
// alerts of 20 workloads as fast as one process can build them; arrivals counted by the Collector.
// Part "agent": the whole agent under load: build/openloop opens a file a host policy matches, at a fixed rate;
// `armorwatch run` (real eBPF, real policies) exports every alert over OTLP/gRPC to the real
// Collector, whose own metrics count what it accepted. Per rate, side by side in one run:
// records/s arriving with nothing lost, the agent's CPU seconds per 10,000 records (node and its
// monitor helper, from /proc/<pid>/stat), its RSS idle and at that rate.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { hrTime } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { createAlertExporter } from '../src/export/index.ts';
import { alertToLogRecord } from '../src/export/record.ts';
import { ResourceCache } from '../src/export/resource.ts';
import { silentLogger } from '../src/log.ts';
import type { Alert } from '../src/types.ts';
import { VERSION } from '../src/version.ts';
import { podAlert } from '../test/export/fixtures.ts';
import { freePort, startCollector } from '../test/helpers/collector.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const OPENLOOP = join(root, 'build/openloop');
const { values } = parseArgs({ options: {
  part: { type: 'string', default: 'both' }, seconds: { type: 'string', default: '10' },
  rates: { type: 'string', default: '10000,20000,30000' }, records: { type: 'string', default: '200000' },
  // Extra Node.js flags for the agent (e.g. --cpu-prof), and `src` to run the TypeScript sources
  // through type stripping instead of the compiled JavaScript that ships (bin/armorwatch → dist/).
  'agent-flags': { type: 'string', default: '' }, 'agent-from': { type: 'string', default: 'dist' },
} });
const SECONDS = Number(values.seconds);
const RATES = values.rates.split(',').map(Number);
const TICK = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function children(pid: number): number[] {
  try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
}
/** CPU seconds (user + system) of the agent and its helper. */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...children(pid)]) {
    const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    ticks += Number(f[11]) + Number(f[12]); // fields 14 and 15: utime, stime
  }
  return ticks / TICK;
}
/** Resident MB of the agent (node) and its helper. */
function rssMb(pid: number): { node: number; helper: number } {
  const one = (p: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  return { node: one(pid), helper: children(pid).reduce((s, p) => s + one(p), 0) };
}

async function stageBench(): Promise<void> {
  const metricsPort = await freePort();
  const collector = await startCollector({ sink: 'debug', batch: true, metricsPort });
  const total = Number(values.records);
  const alerts = Array.from({ length: 1000 }, (_, i) => podAlert(i % 20, i));
  const endpoint = `http://${collector.grpcAddress}`;
  const otlp = { endpoint, protocol: 'grpc' as const, insecure: true, headers: {}, compression: 'none' as const, timeoutMs: 10_000 };
  try {
    const rows: string[] = [];
    for (const which of ['sdk BatchLogRecordProcessor (maxQueueSize 100000)', 'armorwatch ReliableLogRecordProcessor (queue 100000)']) {
      const before = await collector.acceptedRecords(metricsPort);
      let emit: (i: number) => void;
      let flush: () => Promise<void>;
      if (which.startsWith('sdk')) {
        const proc = new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: endpoint, credentials: credentials.createInsecure() }),
          maxQueueSize: 100_000, maxExportBatchSize: 1024, scheduledDelayMillis: 200 });
        const cache = new ResourceCache({ serviceName: 'armorwatch', serviceVersion: VERSION },
          (resource) => new LoggerProvider({ resource, processors: [proc] }).getLogger('armorwatch', VERSION));
        emit = (i) => { const a = alerts[i % alerts.length] as Alert; cache.get(a).emit(alertToLogRecord(a, hrTime())); };
        flush = async () => { await proc.forceFlush(); await proc.shutdown(); };
      } else {
        const exp = createAlertExporter({ exporter: 'otlp', otlp, serviceName: 'armorwatch', statsIntervalMs: 0,
          queue: { maxRecords: 100_000, maxBytes: 256 << 20, batchRecords: 1024, retryMaxElapsedMs: 60_000 } }, silentLogger);
        emit = (i) => { exp.export(alerts[i % alerts.length] as Alert); };
        flush = async () => { await exp.forceFlush(); await exp.shutdown(10_000); };
      }
      const t0 = performance.now();
      for (let i = 0; i < total; i++) {
        emit(i);
        if (i % 2000 === 1999) await new Promise((r) => setImmediate(r)); // let exports run, as the agent's event loop would
      }
      const fed = (performance.now() - t0) / 1000;
      await flush();
      let arrived = 0;
      for (let stable = 0; stable < 10;) {
        const now = (await collector.acceptedRecords(metricsPort)) - before;
        stable = now === arrived ? stable + 1 : 0;
        arrived = now;
        if (arrived >= total) break;
        await sleep(200);
      }
      const elapsed = (performance.now() - t0) / 1000;
      rows.push(`| ${which} | ${total} | ${(total / fed).toFixed(0)} | ${arrived} | ${total - arrived} | ${(arrived / elapsed).toFixed(0)} |`);
    }
    console.log(`export stage alone: ${total} alerts of 20 workloads, one process, gRPC to the Collector on loopback`);
    console.log('');
    console.log('| processor | offered | offered/s | arrived | lost | arrived/s end to end |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    console.log('');
  } finally {
    await collector.dispose();
  }
}

/**
 * The agent as shipped: compiled by tsc (scripts/build.sh's step) into a scratch root laid out like
 * the repository, so the repository's own dist/ (which bin/armorwatch prefers) is left alone.
 */
function compiledMain(dir: string): string {
  const out = join(dir, 'root');
  mkdirSync(out);
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'),
    '--outDir', join(out, 'dist'), '--sourceMap', 'false'], { stdio: 'inherit' });
  copyFileSync(join(root, 'package.json'), join(out, 'package.json'));
  for (const d of ['node_modules', 'build', 'docs']) symlinkSync(join(root, d), join(out, d));
  return join(out, 'dist/cli/main.js');
}

async function agentBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'armorwatch-bench-export-'));
  const MAIN = values['agent-from'] === 'src' ? join(root, 'src/cli/main.ts') : compiledMain(dir);
  const agentFlags = values['agent-flags'].split(' ').filter(Boolean);
  const target = join(dir, 'target');
  mkdirSync(join(dir, 'policies'));
  mkdirSync(target);
  writeFileSync(join(target, 'secret'), 'x');
  writeFileSync(join(dir, 'policies', 'bench.yaml'), `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: hsp-bench-export
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: ${hostname()}
  severity: 5
  tags: ["bench", "NIST-800", "AC-18(1)"]
  message: "benchmark file access"
  file:
    matchDirectories:
      - dir: ${target}/
        recursive: true
  action: Audit
`);

  const metricsPort = await freePort();
  const collector = await startCollector({ sink: 'debug', batch: true, metricsPort });
  const healthPort = await freePort();
  let agent: ChildProcess | undefined;
  let agentErr = '';
  try {
    agent = spawn(process.execPath, [...agentFlags, MAIN, 'run', '--policies', join(dir, 'policies'), '--health-addr', `127.0.0.1:${healthPort}`,
      '--stats-interval', '0', '--otlp-endpoint', `http://${collector.grpcAddress}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    agent.stderr?.setEncoding('utf8').on('data', (s: string) => { agentErr = (agentErr + s).slice(-20_000); });
    const pid = agent.pid as number;
    for (let i = 0; ; i++) {
      try { if ((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200) break; } catch { /* not yet */ }
      if (i > 1200 || agent.exitCode !== null) throw new Error(`agent not ready:\n${agentErr}`);
      await sleep(100);
    }
    await sleep(3000);
    const idle = rssMb(pid);
    const idleCpu0 = cpuSeconds(pid);
    await sleep(5000);
    const idleCpuPerSec = (cpuSeconds(pid) - idleCpu0) / 5;

    const rows: string[] = [];
    for (const rate of RATES) {
      const count = rate * SECONDS;
      const before = await collector.acceptedRecords(metricsPort);
      const cpu0 = cpuSeconds(pid);
      let peak = 0;
      const sampler = setInterval(() => { const r = rssMb(pid); peak = Math.max(peak, r.node + r.helper); }, 200);
      const t0 = Date.now();
      const load = spawn(OPENLOOP, [join(target, 'secret'), String(count), String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let loadOut = '';
      load.stdout?.setEncoding('utf8').on('data', (s: string) => { loadOut += s; });
      await new Promise((r) => load.once('exit', r));
      const loadSeconds = (Date.now() - t0) / 1000;
      // Drain: wait until every record arrived, or nothing more arrives for 5 s.
      let arrived = 0;
      let lastChange = Date.now();
      let lastArrival = Date.now();
      for (;;) {
        const now = (await collector.acceptedRecords(metricsPort)) - before;
        if (now !== arrived) { arrived = now; lastChange = Date.now(); lastArrival = lastChange; }
        if (arrived >= count || Date.now() - lastChange > 5000) break;
        await sleep(100);
      }
      clearInterval(sampler);
      const cpu = cpuSeconds(pid) - cpu0;
      const span = (lastArrival - t0) / 1000;
      const loop = JSON.parse(loadOut) as { count: number; elapsedNs: number };
      rows.push(`| ${rate} | ${loop.count} | ${arrived} | ${loop.count - arrived} | ${(loop.count / (loop.elapsedNs / 1e9)).toFixed(0)} | ${(arrived / span).toFixed(0)} | ${(span - loadSeconds).toFixed(1)} | ${(cpu / arrived * 10_000).toFixed(3)} | ${peak.toFixed(0)} |`);
      await sleep(2000);
    }
    const exitCode = await new Promise<number | null>((resolve) => { agent?.once('exit', resolve); agent?.kill('SIGTERM'); });
    agent = undefined;
    const stopped = agentErr.split('\n').filter((l) => l.includes('"msg":"stopped"')).pop();
    const s = stopped === undefined ? undefined : JSON.parse(stopped) as { monitor: Record<string, number>; matched: number; export: { otlp: Record<string, unknown> } };

    console.log(`armorwatch export benchmark — ${SECONDS} s per rate, 2 cores, agent ${values['agent-from']} ${agentFlags.join(' ')}, exit ${exitCode}`);
    console.log(`idle: RSS node ${idle.node.toFixed(0)} MB + helper ${idle.helper.toFixed(0)} MB = ${(idle.node + idle.helper).toFixed(0)} MB; CPU ${idleCpuPerSec.toFixed(3)} s/s`);
    console.log('');
    console.log('| target rate/s | opened | arrived at Collector | missing | achieved open rate/s | arrival rate/s | drain after load (s) | agent CPU-s per 10k records | agent peak RSS MB |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    console.log('');
    console.log(`agent final counters: monitor ${JSON.stringify(s?.monitor)}, matched ${s?.matched}, export ${JSON.stringify(s?.export.otlp)}`);
    if (s?.matched === 0) console.log(`nothing matched; the agent's log:\n${agentErr}`);
  } finally {
    agent?.kill('SIGKILL');
    await collector.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.part !== 'agent') await stageBench();
if (values.part !== 'stage') await agentBench();
