// Port-scan detection end to end: two network namespaces joined by a veth pair (test/helpers/netns.ts),
// listeners on ports 22, 80 and 443 of the server side (every address of a /24 too), the real agent
// (`bin/armorwatch run`, real eBPF) exporting to the real Collector and to stdout, and nmap run in
// the client namespace as an attacker would: a connect scan of 1000 ports, a sweep of one port over
// 100 addresses, a slow scan. Each must arrive as exactly one episode (one `started` and one `ended`
// record, the same id) with the counts nmap's probes really had. Busy honest clients (1,000
// connections to one port, 5 backends, DNS lookups to 3 resolvers) must raise no record, and their
// connects are counted in the kernel (the port-scan gate) instead of reported.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test, type TestContext } from 'node:test';
import type { ScanAlert } from '../../src/types.ts';
import { exited, startAgent, waitReady, writeHostPolicy, type RunningAgent } from '../deploy/agent.ts';
import { freePort, startCollector, type CollectedRecord, type Collector } from '../helpers/collector.ts';
import { CLIENT_IP, NetnsPair, serverScript, SERVER_IP, SERVER_IP6, SWEEP_NET } from '../helpers/netns.ts';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { eventually } from './cluster.ts';

const OPEN = [22, 80, 443];
/** Short enough for a test; an episode ends this long after nmap's last probe. */
const QUIET_MS = 2000;

let net: NetnsPair | null = null;
let collector: Collector | null = null;
let agent: RunningAgent | null = null;
let healthPort = 0;
/** Clean-up of what the before hook started (startAgent and writeHostPolicy register theirs here). */
const cleanups: (() => unknown)[] = [];
const hookContext = { after: (fn: () => unknown) => { cleanups.push(fn); } } as unknown as TestContext;

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  net = new NetnsPair(`scan${process.pid % 10000}`);
  net.create();
  const srv = net.serve([process.execPath, '-e', serverScript(OPEN)]);
  const [line] = await Promise.race([once(srv.stdout!, 'data'), once(srv, 'exit')]) as [Buffer | number];
  assert.equal(String(line).trim(), 'ready', 'the server namespace listens');
  collector = await startCollector();
  healthPort = await freePort();
  agent = startAgent(hookContext, {
    policies: writeHostPolicy(hookContext), healthPort, env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${collector.grpcAddress}`, ARMORWATCH_EXPORTER: 'both', ARMORWATCH_STATS_INTERVAL: '0',
      ARMORWATCH_SCAN_QUIET: `${QUIET_MS}ms`, ARMORWATCH_SCAN_UPDATE_INTERVAL: '5m', ARMORWATCH_SCAN_SLOW_PORTS: '12',
    },
  });
  assert.ok(await waitReady(agent, healthPort), `agent did not become ready:\n${agent.err().slice(-3000)}`);
}, { timeout: 120_000 });

after(async () => {
  if (agent !== null && agent.child.exitCode === null) {
    agent.child.kill('SIGTERM');
    await exited(agent.child);
  }
  await collector?.dispose();
  net?.remove();
  for (const fn of cleanups.reverse()) await fn();
});

function ready(t: TestContext): { net: NetnsPair; collector: Collector; agent: RunningAgent } | null {
  if (!needsBpf(t)) return null;
  assert.ok(net !== null && collector !== null && agent !== null, 'the namespaces, Collector and agent started');
  return { net, collector, agent };
}

const scanRecords = (c: Collector): CollectedRecord[] => c.records().filter((r) => r.attributes['security_rule.name'] === 'armorwatch-port-scan');
const scanLines = (a: RunningAgent): ScanAlert[] =>
  a.out().split('\n').filter((l) => l.includes('"Type":"PortScan"')).map((l) => JSON.parse(l) as ScanAlert);

/** Runs `argv` in the client namespace; resolves to its pid (ip netns exec runs the command in its own process). */
async function inClient(n: NetnsPair, argv: readonly string[], timeoutMs = 120_000): Promise<number> {
  const [cmd, ...args] = n.inClient(argv);
  const child = execFile(cmd!, args, { timeout: timeoutMs });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const [code] = await once(child, 'exit') as [number | null];
  assert.equal(code, 0, `${argv.join(' ')} failed: ${err}`);
  return child.pid!;
}

/** The episode records of one scanner process: waits for its `ended` record, then the quiet gap again for anything later. */
async function episodeOf(c: Collector, pid: number): Promise<CollectedRecord[]> {
  await eventually(`the ended record of pid ${pid}`, 30_000, () => scanRecords(c).find((r) => r.attributes['process.pid'] === pid && r.attributes['armorwatch.scan.phase'] === 'ended'));
  await new Promise((r) => setTimeout(r, QUIET_MS + 1500));
  return scanRecords(c).filter((r) => r.attributes['process.pid'] === pid);
}

function oneEpisode(recs: CollectedRecord[]): CollectedRecord {
  assert.deepEqual(recs.map((r) => r.attributes['armorwatch.scan.phase']), ['started', 'ended'], 'one started and one ended record');
  assert.equal(new Set(recs.map((r) => r.attributes['armorwatch.scan.id'])).size, 1, 'one episode');
  return recs[1]!;
}

const counts = (r: CollectedRecord): Record<string, unknown> => ({
  ports: r.attributes['armorwatch.scan.distinct_ports'], hosts: r.attributes['armorwatch.scan.distinct_hosts'],
  succeeded: r.attributes['armorwatch.scan.succeeded'], refused: r.attributes['armorwatch.scan.refused'], failed: r.attributes['armorwatch.scan.failed'],
  kinds: r.attributes['armorwatch.scan.kinds'], slow: r.attributes['armorwatch.scan.slow'],
});

/** Node code for the client namespace: `rounds` rounds of one TCP connect to each of `ports` on SERVER_IP, one at a time (a refusal is an answer too). */
const connectLoop = (ports: readonly number[], rounds: number): string => `
const net = require('node:net'); const ports = ${JSON.stringify(ports)};
(async () => { for (let r = 0; r < ${rounds}; r++) for (const p of ports) await new Promise((ok, no) => {
  const c = net.connect(p, '${SERVER_IP}', () => { c.destroy(); ok(); });
  c.on('error', (e) => (e.code === 'ECONNREFUSED' ? ok() : no(e))); }); })().catch((e) => { console.error(e); process.exit(1); });`;

// First in the file: the client namespace's key must start with nothing counted (the kernel counts
// a key's distinct ports over the whole slow window until its gate opens).
test('the gate\'s edge: a client at one distinct port short of the lowest threshold sends no record per connect; its next port makes exactly one episode with every held-back attempt', { timeout: 180_000 }, async (t) => {
  const s = ready(t);
  if (s === null) return;
  // ARMORWATCH_SCAN_SLOW_PORTS=12: the lowest port threshold is 12. 11 ports (80 open, 10 closed), 200 rounds.
  const ports = [80, ...Array.from({ length: 10 }, (_, i) => 4001 + i)];
  const rounds = 200;
  const before = scanRecords(s.collector).length;
  const watchingBefore = await watching();
  const deliveredBefore = await counter('armorwatch_monitor_events_delivered_total');
  const gatedBefore = await counter('armorwatch_monitor_events_gated_total');
  const under = await inClient(s.net, [process.execPath, '-e', connectLoop(ports, rounds)]);
  await new Promise((r) => setTimeout(r, QUIET_MS + 1000));
  const delivered = (await counter('armorwatch_monitor_events_delivered_total')) - deliveredBefore;
  const gated = (await counter('armorwatch_monitor_events_gated_total')) - gatedBefore;
  const watchingAfter = await watching();
  // (The agent watches the whole node: another test's scan meanwhile is reported too, rightly.)
  const raisedUnder = scanRecords(s.collector).slice(before).filter((r) => r.attributes['process.pid'] === under).map((r) => r.body);
  // The 12th distinct port (run before any assertion, so that a failure leaves no held-back target
  // to the next test): the gate opens, hands the 11 held-back targets over, and the detector counts
  // the episode as if it had seen every connect.
  const over = await inClient(s.net, [process.execPath, '-e', connectLoop([4011], 1)]);
  const connects = ports.length * rounds;
  // Before, the gate opened at 3/4 of the lowest threshold (9 here), and a client at 9 to 11 ports
  // streamed one record per connect until quiet: the detector then held its key (watching, no
  // episode). The delivered counter is the whole node's (other helpers' scans are in it), so the
  // client's own share is read from the gate's count and the detector's keys instead;
  // test/monitor/network.test.ts counts the records of one client exactly.
  assert.ok(gated >= connects, `the kernel held back every one of the ${connects} connects (${gated} gated, ${delivered} events delivered from the whole node meanwhile)`);
  assert.ok(watchingAfter <= watchingBefore, `no connect of the client reached the detector (keys watched: ${watchingBefore} before, ${watchingAfter} after)`);
  assert.deepEqual(raisedUnder, [], `no port-scan record for pid ${under}`);

  const ended = oneEpisode(await episodeOf(s.collector, over));
  assert.deepEqual(counts(ended).ports, 12);
  assert.deepEqual([ended.attributes['armorwatch.scan.distinct_hosts'], ended.attributes['armorwatch.scan.kinds']], [1, ['vertical']]);
  assert.deepEqual([ended.attributes['armorwatch.scan.attempts'], ended.attributes['armorwatch.scan.succeeded'], ended.attributes['armorwatch.scan.refused'], ended.attributes['armorwatch.scan.failed']],
    [connects + 1, rounds, connects - rounds + 1, 0], 'every attempt held back is in the episode, with its result');
  assert.deepEqual(ended.attributes['armorwatch.scan.open_ports'], [80]);
  assert.deepEqual(scanRecords(s.collector).slice(before).filter((r) => r.attributes['process.pid'] === under).map((r) => r.body), [], 'no record names the first client');
});

test('nmap -sT of 1000 ports: one episode, 1000 distinct ports, 997 refused, 3 succeeded (the open ports)', { timeout: 180_000 }, async (t) => {
  const s = ready(t);
  if (s === null) return;
  const pid = await inClient(s.net, ['nmap', '-sT', '-Pn', '-n', '--max-retries', '0', '-p', '1-1000', SERVER_IP]);
  const ended = oneEpisode(await episodeOf(s.collector, pid));
  assert.deepEqual(counts(ended), { ports: 1000, hosts: 1, succeeded: 3, refused: 997, failed: 0, kinds: ['vertical'], slow: false });
  assert.equal(ended.attributes['armorwatch.scan.attempts'], 1000, 'one connect per port, every one answered');
  assert.deepEqual(ended.attributes['armorwatch.scan.open_ports'], OPEN);
  assert.deepEqual([ended.attributes['network.peer.address'], ended.attributes['server.address'], ended.attributes['network.transport'], ended.attributes['network.type']],
    [SERVER_IP, SERVER_IP, 'tcp', 'ipv4']);
  assert.match(String(ended.attributes['process.executable.path']), /\/nmap$/);
  assert.equal(ended.eventName, 'armorwatch.scan.episode');
  // The same episode on stdout, in KubeArmor's shape.
  const lines = scanLines(s.agent).filter((l) => l.HostPID === pid);
  assert.deepEqual(lines.map((l) => [l.Type, l.PolicyName, l.Scan.Phase, l.Scan.Id === ended.attributes['armorwatch.scan.id']]),
    [['PortScan', 'armorwatch-port-scan', 'started', true], ['PortScan', 'armorwatch-port-scan', 'ended', true]]);
  assert.equal(lines[1]!.Data, 'syscall=SYS_CONNECT attempts=1000 ports=1000 hosts=1 succeeded=3 refused=997 failed=0');
});

test('a sweep of port 80 over 100 addresses: one horizontal episode, 100 hosts, every one answered', { timeout: 180_000 }, async (t) => {
  const s = ready(t);
  if (s === null) return;
  const pid = await inClient(s.net, ['nmap', '-sT', '-Pn', '-n', '--max-retries', '0', '-p', '80', `${SWEEP_NET}.1-100`]);
  const ended = oneEpisode(await episodeOf(s.collector, pid));
  assert.deepEqual(counts(ended), { ports: 1, hosts: 100, succeeded: 100, refused: 0, failed: 0, kinds: ['horizontal'], slow: false });
  assert.deepEqual([ended.attributes['server.port'], ended.attributes['network.peer.port'], ended.attributes['server.address']], [80, 80, undefined]);
});

test('a slow scan (one probe a second, 15 ports) stays under the fast window and is one slow episode', { timeout: 180_000 }, async (t) => {
  const s = ready(t);
  if (s === null) return;
  const pid = await inClient(s.net, ['nmap', '-sT', '-Pn', '-n', '--max-retries', '0', '--scan-delay', '1s', '-p', '2001-2015', SERVER_IP]);
  const ended = oneEpisode(await episodeOf(s.collector, pid));
  assert.deepEqual(counts(ended), { ports: 15, hosts: 1, succeeded: 0, refused: 15, failed: 0, kinds: ['vertical'], slow: true });
});

test('nmap -6 -sT of 200 ports over IPv6: one episode with the IPv6 host and network.type ipv6', { timeout: 180_000 }, async (t) => {
  const s = ready(t);
  if (s === null) return;
  // The listeners are IPv4 only: every port refuses.
  const pid = await inClient(s.net, ['nmap', '-6', '-sT', '-Pn', '-n', '--max-retries', '0', '-p', '3001-3200', SERVER_IP6]);
  const ended = oneEpisode(await episodeOf(s.collector, pid));
  assert.deepEqual(counts(ended), { ports: 200, hosts: 1, succeeded: 0, refused: 200, failed: 0, kinds: ['vertical'], slow: false });
  assert.equal(ended.attributes['armorwatch.scan.attempts'], 200);
  assert.deepEqual([ended.attributes['network.peer.address'], ended.attributes['network.type'], ended.attributes['network.transport']], [SERVER_IP6, 'ipv6', 'tcp']);
});

/** Keys the detector holds without an episode (armorwatch_detect_scan_keys{state="watching"}). */
async function watching(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  const m = /^armorwatch_detect_scan_keys\{[^}]*state="watching"[^}]*\} ([0-9.e+]+)$/m.exec(text);
  assert.ok(m !== null, 'the detector\'s keys gauge');
  return Number(m[1]);
}

/** A counter of the agent's own /metrics. */
async function counter(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

test('honest clients raise nothing: 1,000 connections to one port, 5 backends, DNS lookups to 3 resolvers', { timeout: 180_000 }, async (t) => {
  const s = ready(t);
  if (s === null) return;
  const before = scanRecords(s.collector).length;
  const deliveredBefore = await counter('armorwatch_monitor_events_delivered_total');
  const gatedBefore = await counter('armorwatch_monitor_events_gated_total');
  const loop = (targets: string, n: number): string => `
const net = require('node:net'); const hosts = ${targets};
(async () => { for (let i = 0; i < ${n}; i++) await new Promise((ok, no) => {
  const c = net.connect(80, hosts[i % hosts.length], () => { c.destroy(); ok(); }); c.on('error', no); }); })().catch((e) => { console.error(e); process.exit(1); });`;
  const pids = [
    await inClient(s.net, [process.execPath, '-e', loop(JSON.stringify([SERVER_IP]), 1000)]),
    await inClient(s.net, [process.execPath, '-e', loop(JSON.stringify([1, 2, 3, 4, 5].map((i) => `${SWEEP_NET}.${i}`)), 500)]),
    await inClient(s.net, ['sh', '-c', 'for i in $(seq 1 20); do getent ahosts "host-$i.example" >/dev/null; done; true']),
  ];
  await new Promise((r) => setTimeout(r, QUIET_MS + 2000));
  const delivered = (await counter('armorwatch_monitor_events_delivered_total')) - deliveredBefore;
  const gated = (await counter('armorwatch_monitor_events_gated_total')) - gatedBefore;
  // 1,500 TCP connects and 20 lookups to 3 resolvers, to 1 + 5 + 3 targets: far below the gate's
  // thresholds, so the kernel counts every one of them and reports none — the negative is not
  // vacuous (every connect was seen), and honest traffic costs no ring-buffer record.
  assert.ok(gated >= 1500, `the kernel held back every TCP connect (${gated} gated, ${delivered} events delivered)`);
  assert.ok(gated + delivered >= 1500, `every connect was seen: ${gated} gated + ${delivered} delivered`);
  // The agent watches the whole node: a scan another test on the machine runs meanwhile is reported
  // too (rightly). The clients' own: a record names the process of the latest attempt, the client
  // itself or (the lookups) a child of its shell.
  const ours = (r: CollectedRecord): boolean => pids.includes(r.attributes['process.pid'] as number) || pids.includes(r.attributes['process.parent_pid'] as number);
  const raised = scanRecords(s.collector).slice(before).filter(ours);
  assert.deepEqual(raised.map((r) => [r.attributes['process.pid'], r.body]), [], `no port-scan record (clients ${pids.join(', ')}, client address ${CLIENT_IP})`);
});
