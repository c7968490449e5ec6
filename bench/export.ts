// npm run bench:export [-- --part cost|stage|agent|both|side --seconds 10 --rates 10000,20000,30000 --records 200000 --rounds 1]
// Part "side": metrics and throttling on the hot path, side by side in one run: the whole agent at
// each rate, a fresh agent per variant (metrics off + throttling off; metrics on and scraped +
// throttling on but never reached; metrics on + throttling at its defaults, where the storm is
// throttled), variants alternating order per round; CPU per 10k matches and its ratio to the first
// variant, and the accounting: matched = sent + suppressed, offered = arrived + dropped.
// Part "stage": the export stage alone, side by side in one run against the same real Collector:
// the SDK's BatchLogRecordProcessor vs armorwatch's ReliableLogRecordProcessor, each fed the same
// alerts of 20 workloads as fast as one process can build them; arrivals counted by the Collector.
// Part "agent": the whole agent under load: build/openloop opens a file a host policy matches, at a fixed rate;
// `armorwatch run` (real eBPF, real policies) exports every alert over OTLP/gRPC to the real
// Collector, whose own metrics count what it accepted. Per rate, side by side in one run:
// records/s arriving with nothing lost, the agent's CPU seconds per 10,000 records (node and its
// monitor helper, from /proc/<pid>/stat), its RSS idle and at that rate.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { hrTime } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { BatchLogRecordProcessor, LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
// The serializer the OTLP exporters call (a dependency of theirs, same release): timed on its own.
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { Attributes } from '@opentelemetry/api';
import { ATTR, EVENT_POLICY_MATCH } from '../src/export/attributes.ts';
import { estimateRecordBytes } from '../src/export/processor.ts';
import { LogsSerializer } from '../src/export/protobuf.ts';
import { createAlertExporter } from '../src/export/index.ts';
import { AttributeHandOff } from '../src/export/handoff.ts';
import { alertLine } from '../src/export/kubearmor.ts';
import { matchText, type MatchText } from '../src/export/match.ts';
import { matchRecordFields, matchToLogRecord, recordAttributes, RecordShape } from '../src/export/record.ts';
import { ResourceCache } from '../src/export/resource.ts';
import { silentLogger } from '../src/log.ts';
import { createAgentMetrics } from '../src/metrics/index.ts';
import { AlertThrottle, throttleSubject } from '../src/policy/throttle.ts';
import type { Match } from '../src/types.ts';
import { VERSION } from '../src/version.ts';
import { podMatch } from '../test/export/fixtures.ts';
import { freePort, startCollector, type Collector } from '../test/helpers/collector.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const OPENLOOP = join(root, 'build/openloop');
const { values } = parseArgs({ options: {
  part: { type: 'string', default: 'both' }, seconds: { type: 'string', default: '10' },
  rates: { type: 'string', default: '10000,20000,30000' }, records: { type: 'string', default: '200000' },
  // Extra Node.js flags for the agent (e.g. --cpu-prof; `;` separates flag sets to compare), and `src` to run the TypeScript sources
  // through type stripping instead of the compiled JavaScript that ships (bin/armorwatch → dist/).
  'agent-flags': { type: 'string', default: 'bin;' }, 'agent-from': { type: 'string', default: 'dist' },
  rounds: { type: 'string', default: '1' },
} });
const SECONDS = Number(values.seconds);
const RATES = values.rates.split(',').map(Number);
const TICK = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function children(pid: number): number[] {
  try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
}
/** CPU seconds (user + system) of one process. */
function procCpu(p: number): number {
  const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / TICK; // fields 14 and 15: utime, stime
}
/** CPU seconds of the agent's node process and of its monitor helper. */
function cpuSplit(pid: number): { node: number; helper: number } {
  return { node: procCpu(pid), helper: children(pid).reduce((s, p) => s + procCpu(p), 0) };
}
function cpuSeconds(pid: number): number {
  const c = cpuSplit(pid);
  return c.node + c.helper;
}
/** Resident MB of one process split into file-backed pages (its executable and libraries) and anonymous memory. */
function rssKinds(pid: number): { file: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
  return { file: kb('RssFile'), anon: kb('RssAnon') + kb('RssShmem') };
}
/** Resident MB of the agent (node) and its helper. */
function rssMb(pid: number): { node: number; helper: number } {
  const one = (p: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  return { node: one(pid), helper: children(pid).reduce((s, p) => s + one(p), 0) };
}

/** The attribute builder before the fixed-shape one (an object literal of ~30 computed keys), for the side-by-side row. */
function literalAttributes(m: Match, t: MatchText): Attributes {
  const ev = m.event;
  const d = m.decision;
  const a: Attributes = {
    [ATTR.eventName]: EVENT_POLICY_MATCH, [ATTR.pid]: ev.hostPid, [ATTR.vpid]: ev.pid, [ATTR.parentPid]: ev.hostPpid,
    [ATTR.exePath]: t.processName, [ATTR.exeName]: t.processName.slice(t.processName.lastIndexOf('/') + 1), [ATTR.userId]: ev.uid,
    [ATTR.ruleName]: d.policyName, [ATTR.rulesetName]: d.policyKind, [ATTR.type]: t.type, [ATTR.source]: t.source,
    [ATTR.operation]: d.operation, [ATTR.action]: t.action, [ATTR.result]: t.result, [ATTR.enforcer]: 'eBPF Monitor',
    [ATTR.data]: t.data, [ATTR.syscall]: t.call.display, [ATTR.ppid]: ev.ppid, [ATTR.parentProcessName]: t.parentProcessName,
  };
  if (t.filePath !== undefined) a[ATTR.filePath] = t.filePath;
  if (ev.cwd) a[ATTR.cwd] = ev.cwd;
  if (d.message) a[ATTR.ruleDescription] = d.message;
  if (d.severity !== undefined) a[ATTR.severity] = d.severity;
  if (d.tags.length) { a[ATTR.tags] = [...d.tags]; a[ATTR.atags] = [...d.tags]; }
  if (t.dirfd !== undefined) a[ATTR.dirfd] = t.dirfd;
  if (t.flags) a[ATTR.flags] = t.flags;
  if (t.resolvedResource !== undefined) a[ATTR.resolvedResource] = t.resolvedResource;
  if (d.otherPolicies.length) a[ATTR.otherPolicies] = [...d.otherPolicies];
  return a;
}

/**
 * CPU per record of the pieces the export stage is made of, in this process, no network: building
 * the SDK LogRecord (previous and current attribute builder, side by side), the processor's size
 * estimate, and the exporters' protobuf serialization. The last two rows are the floor the required
 * libraries set, whatever armorwatch does around them.
 */
function costBench(matches: readonly Match[]): void {
  const N = 100_000;
  const held: ReadableLogRecord[] = [];
  const keep = { onEmit: (r: ReadableLogRecord): void => { if (held.length < 1024) held.push(r); }, forceFlush: async () => {}, shutdown: async () => {} };
  const handOff = new AttributeHandOff();
  const cache = new ResourceCache({ serviceName: 'armorwatch', serviceVersion: VERSION },
    (resource) => new LoggerProvider({ resource, processors: [handOff, keep] }).getLogger('armorwatch', VERSION));
  const cpuUs = (f: () => void): number => {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / N;
  };
  const build = (attrs: (m: Match, t: MatchText) => Attributes) => () => {
    for (let i = 0; i < N; i++) {
      const m = matches[i % matches.length] as Match;
      const t = matchText(m);
      cache.get(m.workload, m.node).emit({ ...matchRecordFields(m, hrTime(), t), attributes: attrs(m, t) });
    }
  };
  let sink = 0;
  const metrics = createAgentMetrics({ prometheus: true, otlp: null, intervalMs: 60_000 }, { serviceName: 'armorwatch', nodeName: 'n', clusterName: 'c' }, {}, silentLogger);
  const open = new AlertThrottle<Match>({ enabled: true, maxAlertPerSec: Number.MAX_SAFE_INTEGER, throttleSec: 30 }, () => {});
  const quiet = new AlertThrottle<Match>({ enabled: true, maxAlertPerSec: 10, throttleSec: 30 }, () => {});
  const datadog = new RecordShape({ eventNameAttribute: false, datadog: { source: 'kubearmor', tags: ['team:security'], attributes: true } });
  const rows: Array<[string, () => void]> = [
    ['build the SDK LogRecord, previous attributes (object literal)', build(literalAttributes)],
    ['build the SDK LogRecord, fixed-shape attributes copied by the SDK', build(recordAttributes)],
    ['build the SDK LogRecord, fixed-shape attributes handed off (now, handoff.ts)', () => {
      for (let i = 0; i < N; i++) {
        const m = matches[i % matches.length] as Match;
        const t = matchText(m);
        handOff.emit(cache.get(m.workload, m.node), matchRecordFields(m, hrTime(), t), recordAttributes(m, t));
      }
    }],
    ['from the decision: build the SDK LogRecord (alert/match → record, handed off)', () => {
      for (let i = 0; i < N; i++) {
        const m = matches[i % matches.length] as Match;
        const t = matchText(m);
        handOff.emit(cache.get(m.workload, m.node), matchRecordFields(m, hrTime(), t), recordAttributes(m, t));
      }
    }],
    ['from the decision: build the SDK LogRecord with --datadog-attributes --datadog-source --datadog-tags', () => {
      for (let i = 0; i < N; i++) {
        const m = matches[i % matches.length] as Match;
        const t = matchText(m);
        handOff.emit(cache.get(m.workload, m.node), matchRecordFields(m, hrTime(), t), recordAttributes(m, t, datadog));
      }
    }],
    ['from the decision: the KubeArmor JSON line (stdout)', () => {
      for (let i = 0; i < N; i++) sink += alertLine(matches[i % matches.length] as Match).length;
    }],
    // The hot-path additions of issue 12, per match, before the record is built (src/cli/run.ts's decide/send).
    ['count the match for the metrics (AgentMetrics.countMatch)', () => {
      for (let i = 0; i < N; i++) { const d = (matches[i % matches.length] as Match).decision; metrics.countMatch(d.policyName, d.action); }
    }],
    ['throttle decision, never reached (AlertThrottle.admit, 20 containers)', () => {
      for (let i = 0; i < N; i++) { const m = matches[i % matches.length] as Match; sink += open.admit(throttleSubject(m.workload), m.decision.policyName, m) ? 1 : 0; }
    }],
    ['throttle decision, throttled (AlertThrottle.admit, suppressed and counted)', () => {
      for (let i = 0; i < N; i++) { const m = matches[i % matches.length] as Match; sink += quiet.admit(throttleSubject(m.workload), m.decision.policyName, m) ? 1 : 0; }
    }],
    ['estimate its size (ReliableLogRecordProcessor)', () => { for (let i = 0; i < N; i++) sink += estimateRecordBytes(held[i % held.length] as ReadableLogRecord); }],
    ['serialize to OTLP protobuf (the exporters\' ProtobufLogsSerializer, batches of 1024)', () => {
      for (let i = 0; i < N; i += held.length) sink += ProtobufLogsSerializer.serializeRequest(held)?.length ?? 0;
    }],
    ['serialize to OTLP protobuf (armorwatch\'s LogsSerializer, same bytes, batches of 1024)', () => {
      for (let i = 0; i < N; i += held.length) sink += LogsSerializer.serializeRequest(held)?.length ?? 0;
    }],
  ];
  for (const [, f] of rows) f(); // warm up
  console.log(`export stage, CPU per record in one process (${N} records of 20 workloads, median of 5 rounds)`);
  console.log('');
  console.log('| step | CPU µs per record |');
  console.log('|---|---|');
  for (const [name, f] of rows) {
    const runs = Array.from({ length: 5 }, () => cpuUs(f)).sort((x, y) => x - y);
    console.log(`| ${name} | ${(runs[2] as number).toFixed(2)} |`);
  }
  console.log('');
  if (sink < 0) console.log(sink);
  void metrics.shutdown();
}

async function stageBench(): Promise<void> {
  const metricsPort = await freePort();
  const collector = await startCollector({ sink: 'debug', batch: true, metricsPort });
  const total = Number(values.records);
  const alerts = Array.from({ length: 1000 }, (_, i) => podMatch(i % 20, i));
  costBench(alerts);
  const endpoint = `http://${collector.grpcAddress}`;
  const otlp = { endpoint, protocol: 'grpc' as const, insecure: true, headers: {}, compression: 'none' as const, timeoutMs: 10_000 };
  try {
    const rows: string[] = [];
    for (const which of ['sdk BatchLogRecordProcessor (maxQueueSize 100000)', 'armorwatch ReliableLogRecordProcessor (queue 100000)']) {
      const before = await collector.acceptedRecords(metricsPort);
      let emit: (i: number) => void;
      let flush: () => Promise<void>;
      let counted = (): string => 'not counted';
      if (which.startsWith('sdk')) {
        const proc = new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: endpoint, credentials: credentials.createInsecure() }),
          maxQueueSize: 100_000, maxExportBatchSize: 1024, scheduledDelayMillis: 200 });
        const cache = new ResourceCache({ serviceName: 'armorwatch', serviceVersion: VERSION },
          (resource) => new LoggerProvider({ resource, processors: [proc] }).getLogger('armorwatch', VERSION));
        emit = (i) => { const m = alerts[i % alerts.length] as Match; cache.get(m.workload, m.node).emit(matchToLogRecord(m, hrTime())); };
        flush = async () => { await proc.forceFlush(); await proc.shutdown(); };
      } else {
        const exp = createAlertExporter({ exporter: 'otlp', otlp, serviceName: 'armorwatch', statsIntervalMs: 0,
          queue: { maxRecords: 100_000, maxBytes: 256 << 20, batchRecords: 1024, retryMaxElapsedMs: 60_000 } }, silentLogger);
        emit = (i) => { exp.export(alerts[i % alerts.length] as Match); };
        flush = async () => { await exp.forceFlush(); await exp.shutdown(10_000); };
        counted = () => { const d = exp.stats().otlp?.dropped; return d === undefined ? '?' : `${d.queue_full} queue_full, ${d.rejected + d.retry_exhausted + d.shutdown} other`; };
      }
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < total; i++) {
        emit(i);
        if (i % 2000 === 1999) await new Promise((r) => setImmediate(r)); // let exports run, as the agent's event loop would
      }
      const fed = (performance.now() - t0) / 1000;
      await flush();
      const c = process.cpuUsage(c0);
      let arrived = 0;
      for (let stable = 0; stable < 10;) {
        const now = (await collector.acceptedRecords(metricsPort)) - before;
        stable = now === arrived ? stable + 1 : 0;
        arrived = now;
        if (arrived >= total) break;
        await sleep(200);
      }
      const elapsed = (performance.now() - t0) / 1000;
      rows.push(`| ${which} | ${total} | ${(total / fed).toFixed(0)} | ${arrived} | ${total - arrived} | ${counted()} | ${(arrived / elapsed).toFixed(0)} | ${((c.user + c.system) / 1e6 / total * 10_000).toFixed(3)} |`);
    }
    console.log(`export stage alone: ${total} alerts of 20 workloads, one process, gRPC to the Collector on loopback`);
    console.log('');
    console.log('| processor | offered | offered/s | arrived | lost | of which counted as dropped | arrived/s end to end | CPU-s per 10k records (this process) |');
    console.log('|---|---|---|---|---|---|---|---|');
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
  mkdirSync(join(out, 'bin'));
  copyFileSync(join(root, 'bin/armorwatch'), join(out, 'bin/armorwatch')); // a copy: it finds its root from its own path
  chmodSync(join(out, 'bin/armorwatch'), 0o755);
  for (const d of ['node_modules', 'build', 'docs', 'tools']) symlinkSync(join(root, d), join(out, d));
  return join(out, 'dist/cli/main.js');
}

/**
 * The floor under the agent's idle RSS, measured the same way: Node.js alone, and Node.js with the
 * agent's code imported (dist/cli/run.js and everything it loads statically) but nothing started —
 * no policies, no helper, no gRPC channel. Same V8 flags as bin/armorwatch.
 */
async function nodeFloor(main: string): Promise<{ bare: number; loaded: number }> {
  const once = async (code: string): Promise<number> => {
    const p = spawn(process.execPath, ['--max-old-space-size=192', '--max-semi-space-size=4', '--input-type=module', '-e', code], { stdio: 'ignore' });
    await sleep(4000);
    const mb = rssMb(p.pid as number).node;
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
    return mb;
  };
  return {
    bare: await once('setTimeout(() => {}, 60000);'),
    loaded: await once(`await import(${JSON.stringify(pathToFileURL(join(main, '../run.js')).href)}); setTimeout(() => {}, 60000);`),
  };
}

/** The benchmark's host policy (dir/policies) over a target folder (returned) the load opens a file in. */
function writeBenchPolicy(dir: string): string {
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
  return target;
}

/** Polls /readyz until the agent is ready; throws with its log when it exits or takes over 2 minutes. */
async function waitAgentReady(agent: ChildProcess, healthPort: number, log: () => string): Promise<void> {
  for (let i = 0; ; i++) {
    try { if ((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200) return; } catch { /* not yet */ }
    if (i > 1200 || agent.exitCode !== null) throw new Error(`agent not ready:\n${log()}`);
    await sleep(100);
  }
}

/** Waits until `count` records arrived at the Collector since `before`, or none arrived for `quietMs`; returns how many and when the last came. */
async function drain(collector: Collector, metricsPort: number, before: number, count: number, quietMs = 5000): Promise<{ arrived: number; lastArrival: number }> {
  let arrived = 0;
  let lastChange = Date.now();
  for (;;) {
    const now = (await collector.acceptedRecords(metricsPort)) - before;
    if (now !== arrived) { arrived = now; lastChange = Date.now(); }
    if (arrived >= count || Date.now() - lastChange > quietMs) return { arrived, lastArrival: lastChange };
    await sleep(100);
  }
}

async function agentBench(flags: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'armorwatch-bench-export-'));
  const fromSrc = values['agent-from'] === 'src';
  const MAIN = fromSrc ? join(root, 'src/cli/main.ts') : compiledMain(dir);
  // `bin`: through bin/armorwatch, with the V8 flags it ships with; otherwise node [flags] main.
  const viaBin = flags === 'bin';
  const agentFlags = viaBin ? [] : flags.split(' ').filter(Boolean);
  const command = viaBin ? [fromSrc ? join(root, 'bin/armorwatch') : join(MAIN, '../../../bin/armorwatch')] : [process.execPath, ...agentFlags, MAIN];
  const target = writeBenchPolicy(dir);

  const metricsPort = await freePort();
  const collector = await startCollector({ sink: 'debug', batch: true, metricsPort });
  const healthPort = await freePort();
  let agent: ChildProcess | undefined;
  let agentErr = '';
  try {
    agent = spawn(command[0] as string, [...command.slice(1), 'run', '--policies', join(dir, 'policies'), '--health-addr', `127.0.0.1:${healthPort}`,
      // Throttling off: the storm comes from one host, exactly what throttling would cut to 10 alerts/s;
      // the benchmark measures the whole pipeline at full rate, as before throttling existed.
      '--stats-interval', '0', '--max-alerts-per-sec', '0', '--otlp-endpoint', `http://${collector.grpcAddress}`], { stdio: ['ignore', 'ignore', 'pipe'], env: fromSrc ? { ...process.env, ARMORWATCH_FROM_SOURCE: '1' } : process.env });
    agent.stderr?.setEncoding('utf8').on('data', (s: string) => { agentErr = (agentErr + s).slice(-20_000); });
    const pid = agent.pid as number;
    await waitAgentReady(agent, healthPort, () => agentErr);
    await sleep(3000);
    const idle = rssMb(pid);
    const idleKinds = rssKinds(pid);
    const idleCpu0 = cpuSeconds(pid);
    await sleep(5000);
    const idleCpuPerSec = (cpuSeconds(pid) - idleCpu0) / 5;
    const floor = fromSrc ? undefined : await nodeFloor(MAIN);

    const rows: string[] = [];
    for (const rate of RATES) {
      const count = rate * SECONDS;
      const before = await collector.acceptedRecords(metricsPort);
      const cpu0 = cpuSplit(pid);
      let peak = 0;
      let peakNode = 0;
      const sampler = setInterval(() => { const r = rssMb(pid); peak = Math.max(peak, r.node + r.helper); peakNode = Math.max(peakNode, r.node); }, 200);
      const t0 = Date.now();
      const load = spawn(OPENLOOP, [join(target, 'secret'), String(count), String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let loadOut = '';
      load.stdout?.setEncoding('utf8').on('data', (s: string) => { loadOut += s; });
      await new Promise((r) => load.once('exit', r));
      const loadSeconds = (Date.now() - t0) / 1000;
      // Drain: wait until every record arrived, or nothing more arrives for 5 s.
      const { arrived, lastArrival } = await drain(collector, metricsPort, before, count);
      clearInterval(sampler);
      const cpu1 = cpuSplit(pid);
      const cpuNode = cpu1.node - cpu0.node;
      const cpuHelper = cpu1.helper - cpu0.helper;
      const cpu = cpuNode + cpuHelper;
      const per10k = (x: number): string => (x / arrived * 10_000).toFixed(3);
      const span = (lastArrival - t0) / 1000;
      const loop = JSON.parse(loadOut) as { count: number; elapsedNs: number };
      rows.push(`| ${rate} | ${loop.count} | ${arrived} | ${loop.count - arrived} | ${(loop.count / (loop.elapsedNs / 1e9)).toFixed(0)} | ${(arrived / span).toFixed(0)} | ${(span - loadSeconds).toFixed(1)} | ${per10k(cpu)} | ${per10k(cpuNode)} + ${per10k(cpuHelper)} | ${peak.toFixed(0)} | ${peakNode.toFixed(0)} + ${(peak - peakNode).toFixed(0)} |`);
      await sleep(2000);
    }
    const exitCode = await new Promise<number | null>((resolve) => { agent?.once('exit', resolve); agent?.kill('SIGTERM'); });
    agent = undefined;
    const stopped = agentErr.split('\n').filter((l) => l.includes('"msg":"stopped"')).pop();
    const s = stopped === undefined ? undefined : JSON.parse(stopped) as { monitor: Record<string, number>; matched: number; export: { otlp: Record<string, unknown> } };

    console.log(`armorwatch export benchmark — ${SECONDS} s per rate, 2 cores, agent from ${values['agent-from']}, ${viaBin ? 'through bin/armorwatch (its V8 flags)' : `node flags: ${agentFlags.join(' ') || 'none'}`}, exit ${exitCode}`);
    console.log(`idle: RSS node ${idle.node.toFixed(0)} MB + helper ${idle.helper.toFixed(0)} MB = ${(idle.node + idle.helper).toFixed(0)} MB; CPU ${idleCpuPerSec.toFixed(3)} s/s`);
    console.log(`idle node RSS by kind: ${idleKinds.file.toFixed(0)} MB file-backed (the node binary and libraries), ${idleKinds.anon.toFixed(0)} MB anonymous (heaps, buffers, stacks)`);
    if (floor !== undefined) {
      console.log(`floor, same V8 flags, measured right after: Node.js alone ${floor.bare.toFixed(0)} MB; with the agent's code imported, nothing started ${floor.loaded.toFixed(0)} MB`);
    }
    console.log('');
    console.log('| target rate/s | opened | arrived at Collector | missing | achieved open rate/s | arrival rate/s | drain after load (s) | agent CPU-s per 10k records | of which node + helper | agent peak RSS MB | of which node + helper |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
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

/** `scrapeMs`: how often the benchmark scrapes /metrics as a Prometheus would (0: never). */
interface Variant { readonly name: string; readonly args: readonly string[]; readonly scrapeMs: number }

/** The hot-path configurations compared by `--part side`; the first is the baseline of the ratios. */
const VARIANTS: readonly Variant[] = [
  { name: 'metrics off, throttling off', args: ['--metrics-exporter', 'none', '--max-alerts-per-sec', '0'], scrapeMs: 0 },
  { name: 'metrics on (scraped + pushed every 1 s), throttling on, limit never reached', scrapeMs: 1000,
    args: ['--metrics-exporter', 'prometheus,otlp', '--metrics-interval', '1s', '--max-alerts-per-sec', String(Number.MAX_SAFE_INTEGER)] },
  { name: 'metrics on (scraped + pushed every 1 s), throttling at its defaults (10/s, 30 s)', scrapeMs: 1000,
    args: ['--metrics-exporter', 'prometheus,otlp', '--metrics-interval', '1s'] },
  // A usual set-up: Prometheus scrapes every 15 s, the OTLP push at the same pace.
  { name: 'metrics on (scraped + pushed every 15 s), throttling on, limit never reached', scrapeMs: 15_000,
    args: ['--metrics-exporter', 'prometheus,otlp', '--metrics-interval', '15s', '--max-alerts-per-sec', String(Number.MAX_SAFE_INTEGER)] },
];

interface SideRow { variant: number; rate: number; round: number; opened: number; matched: number; lostInKernel: number; suppressed: number; offered: number; arrived: number; dropped: number; cpuPer10k: number; exit: number | null }

/** One fresh agent at one rate with one variant; the counts come from its final `stopped` log line. */
async function sideRun(main: string, dir: string, target: string, v: Variant, rate: number): Promise<Omit<SideRow, 'variant' | 'rate' | 'round'>> {
  const metricsPort = await freePort();
  const collector = await startCollector({ sink: 'debug', batch: true, metricsPort });
  const healthPort = await freePort();
  let agentErr = '';
  const agent = spawn(join(main, '../../../bin/armorwatch'), ['run', '--policies', join(dir, 'policies'), '--health-addr', `127.0.0.1:${healthPort}`,
    '--stats-interval', '0', '--otlp-endpoint', `http://${collector.grpcAddress}`, ...v.args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let scraper: NodeJS.Timeout | undefined;
  try {
    agent.stderr?.setEncoding('utf8').on('data', (x: string) => { agentErr = (agentErr + x).slice(-50_000); });
    const pid = agent.pid as number;
    await waitAgentReady(agent, healthPort, () => agentErr);
    await sleep(2000);
    // As a Prometheus would, at the variant's pace (every second is fifteen times the usual one).
    if (v.scrapeMs > 0) scraper = setInterval(() => { fetch(`http://127.0.0.1:${healthPort}/metrics`).then((r) => r.text(), () => '').catch(() => ''); }, v.scrapeMs);
    const count = rate * SECONDS;
    const cpu0 = cpuSeconds(pid);
    const load = spawn(OPENLOOP, [join(target, 'secret'), String(count), String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let loadOut = '';
    load.stdout?.setEncoding('utf8').on('data', (x: string) => { loadOut += x; });
    await new Promise((r) => load.once('exit', r));
    await drain(collector, metricsPort, 0, count);
    const cpu = cpuSeconds(pid) - cpu0;
    clearInterval(scraper);
    const exit = await new Promise<number | null>((resolve) => { agent.once('exit', resolve); agent.kill('SIGTERM'); });
    // Throttling's closing notices go out at shutdown: count arrivals once the agent is gone.
    const { arrived } = await drain(collector, metricsPort, 0, Number.MAX_SAFE_INTEGER, 2000);
    const stopped = agentErr.split('\n').filter((l) => l.includes('"msg":"stopped"')).pop();
    if (stopped === undefined) throw new Error(`no final counters in the agent's log:\n${agentErr}`);
    const f = JSON.parse(stopped) as { monitor: { lostInKernel: number; lostPending: number }; matched: number; throttle?: { suppressed: number };
      export: { otlp: { offered: number; dropped: Record<string, number> } } };
    const matched = f.matched;
    return {
      opened: (JSON.parse(loadOut) as { count: number }).count, matched, lostInKernel: f.monitor.lostInKernel + f.monitor.lostPending,
      suppressed: f.throttle?.suppressed ?? 0, offered: f.export.otlp.offered, arrived,
      dropped: Object.values(f.export.otlp.dropped).reduce((a, b) => a + b, 0), cpuPer10k: cpu / matched * 10_000, exit,
    };
  } finally {
    clearInterval(scraper);
    if (agent.exitCode === null) agent.kill('SIGKILL');
    await collector.dispose();
  }
}

async function sideBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'armorwatch-bench-side-'));
  try {
    const main = compiledMain(dir);
    const target = writeBenchPolicy(dir);
    const rounds = Number(values.rounds);
    const rows: SideRow[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const rate of RATES) {
        // Alternate the order per round, so a machine getting busier or quieter does not favour one.
        const order = VARIANTS.map((_, i) => i);
        if (round % 2 === 1) order.reverse();
        for (const variant of order) rows.push({ variant, rate, round, ...await sideRun(main, dir, target, VARIANTS[variant] as Variant, rate) });
      }
    }
    const median = (xs: number[]): number => { const a = [...xs].sort((x, y) => x - y); return a[Math.floor((a.length - 1) / 2)] as number; };
    console.log(`metrics and throttling on the hot path, side by side: the whole agent (bin/armorwatch, compiled), ${SECONDS} s per rate, ${rounds} round(s), a fresh agent and Collector per run`);
    console.log('');
    console.log('| rate/s | variant | opened | matched | lost in kernel (counted) | suppressed (counted) | sent = matched − suppressed | offered (sent + notices) | arrived | dropped (counted) | uncounted: offered − arrived − dropped | CPU-s per 10k matches (median) | ratio to the first |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const rate of RATES) {
      const base = median(rows.filter((r) => r.rate === rate && r.variant === 0).map((r) => r.cpuPer10k));
      VARIANTS.forEach((v, variant) => {
        const mine = rows.filter((r) => r.rate === rate && r.variant === variant);
        const last = mine[mine.length - 1] as SideRow;
        const cpu = median(mine.map((r) => r.cpuPer10k));
        console.log(`| ${rate} | ${v.name} | ${last.opened} | ${last.matched} | ${last.lostInKernel} | ${last.suppressed} | ${last.matched - last.suppressed} | ${last.offered} | ${last.arrived} | ${last.dropped} | ${last.offered - last.arrived - last.dropped} | ${cpu.toFixed(3)} (${mine.map((r) => r.cpuPer10k.toFixed(3)).join(', ')}) | ${(cpu / base).toFixed(3)} |`);
      });
    }
    console.log('');
    console.log('counts are of the last round; exits: ' + rows.map((r) => r.exit).join(','));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.part === 'side') await sideBench();
else if (values.part === 'cost') costBench(Array.from({ length: 1000 }, (_, i) => podMatch(i % 20, i)));
else if (values.part !== 'agent') await stageBench();
// `--agent-flags 'A;B'` runs the whole-agent part once per flag set, one after the other (side by
// side); the default compares bin/armorwatch (as shipped, with its V8 flags) with plain node.
if (values.part !== 'stage' && values.part !== 'cost' && values.part !== 'side') for (const flags of values['agent-flags'].split(';')) await agentBench(flags.trim());
