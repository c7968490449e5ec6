// Port-scan records through both renderers: the OTLP record at the real Collector (EventName,
// network semantic conventions, armorwatch.scan.* typed, on the scanning pod's Resource) and the
// KubeArmor-shaped line on stdout (Type PortScan, PolicyName armorwatch-port-scan).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { SCAN_DEFAULTS } from '../../src/config/scan.ts';
import { PortScanDetector } from '../../src/detect/portscan.ts';
import { MAPPING } from '../../src/export/attributes.ts';
import { createAlertExporter, type ExportSettings } from '../../src/export/index.ts';
import { portRanges } from '../../src/export/scan.ts';
import { EVENT_SCAN_EPISODE, SCAN_MAPPING } from '../../src/export/scan-attributes.ts';
import { silentLogger } from '../../src/log.ts';
import type { ScanAlert, ScanDetection } from '../../src/types.ts';
import { anyValueKind, startCollector, type Collector } from '../helpers/collector.ts';
import { connect, ECONNREFUSED, HOST, NODE, outcome, POD } from '../detect/fixtures.ts';

let collector: Collector;
before(async () => { collector = await startCollector(); });
after(async () => { await collector.dispose(); });

const QUEUE = { maxRecords: 1000, maxBytes: 1 << 20, batchRecords: 100, retryMaxElapsedMs: 10_000 };

/** A vertical scan of 1000 ports (22, 80, 443 open) by a pod, as the detector reports it. */
function verticalScan(): ScanDetection[] {
  const out: ScanDetection[] = [];
  const d = new PortScanDetector({ ...SCAN_DEFAULTS, updateIntervalMs: 60_000 }, (x) => out.push(x));
  for (let p = 1; p <= 1000; p++) {
    d.observe(connect({ host: '10.99.0.2', port: p, ms: p }), POD, NODE, p);
    d.observe(outcome({ host: '10.99.0.2', port: p, ms: p, ret: [22, 80, 443].includes(p) ? 0 : -ECONNREFUSED }), POD, NODE, p);
  }
  d.flush();
  return out;
}

test('an episode at the Collector: one record per phase, EventName, network conventions and the scan counts typed', async () => {
  const exp = createAlertExporter({
    exporter: 'otlp', otlp: { endpoint: `http://${collector.grpcAddress}`, protocol: 'grpc', insecure: true, headers: {}, compression: 'none', timeoutMs: 5000 },
    queue: QUEUE, serviceName: 'armorwatch', statsIntervalMs: 0,
  }, silentLogger);
  const start = collector.records().length;
  const episode = verticalScan();
  assert.deepEqual(episode.map((x) => x.scan.phase), ['started', 'ended']);
  for (const x of episode) exp.export(x);
  await exp.shutdown(5000);
  const recs = (await collector.waitForRecords(start + 2)).slice(start);
  assert.equal(recs.length, 2);
  const [started, ended] = recs as [typeof recs[0], typeof recs[0]];
  assert.equal(started.eventName, EVENT_SCAN_EPISODE);
  assert.equal(started.attributes['armorwatch.scan.id'], ended.attributes['armorwatch.scan.id']);
  assert.equal(ended.resource['k8s.pod.name'], 'web-1', "on the scanning pod's Resource");
  assert.deepEqual({
    phase: ended.attributes['armorwatch.scan.phase'], kinds: ended.attributes['armorwatch.scan.kinds'], slow: ended.attributes['armorwatch.scan.slow'],
    attempts: ended.attributes['armorwatch.scan.attempts'], ports: ended.attributes['armorwatch.scan.distinct_ports'], hosts: ended.attributes['armorwatch.scan.distinct_hosts'],
    succeeded: ended.attributes['armorwatch.scan.succeeded'], refused: ended.attributes['armorwatch.scan.refused'], failed: ended.attributes['armorwatch.scan.failed'],
    open: ended.attributes['armorwatch.scan.open_ports'], sampleHosts: ended.attributes['armorwatch.scan.hosts'],
    transport: ended.attributes['network.transport'], type: ended.attributes['network.type'],
    peer: ended.attributes['network.peer.address'], server: ended.attributes['server.address'], serverPort: ended.attributes['server.port'],
    rule: ended.attributes['security_rule.name'], kaType: ended.attributes['kubearmor.type'], op: ended.attributes['kubearmor.operation'],
    exe: ended.attributes['process.executable.path'], pid: ended.attributes['process.pid'],
  }, {
    phase: 'ended', kinds: ['vertical'], slow: false, attempts: 1000, ports: 1000, hosts: 1, succeeded: 3, refused: 997, failed: 0,
    open: [22, 80, 443], sampleHosts: ['10.99.0.2'], transport: 'tcp', type: 'ipv4', peer: '10.99.0.2', server: '10.99.0.2', serverPort: undefined,
    rule: 'armorwatch-port-scan', kaType: 'PortScan', op: 'Network', exe: '/usr/bin/nmap', pid: 4242,
  });
  assert.equal(ended.severityNumber, 15, 'severity 5 → WARN3');
  assert.match(String(ended.body), /^Port scan ended: \/usr\/bin\/nmap, vertical scan: 1000 ports of 10\.99\.0\.2 \(1000 attempts: 3 succeeded, 997 refused, 0 failed; open: 22,80,443\) \[armorwatch-port-scan\]$/);
  // Every attribute is documented; every scan row that applies to this episode is there, typed.
  const documented = new Set(MAPPING.filter((m) => m.where === 'record').map((m) => m.name));
  for (const k of Object.keys(ended.attributes)) assert.ok(documented.has(k), `${k} is documented in docs/OTEL.md`);
  const notHere = new Set(['network.peer.port', 'server.port', 'armorwatch.scan.hosts_capped']);
  const raw = collector.requests().flatMap((r) => r.resourceLogs ?? []).flatMap((rl) => rl.scopeLogs ?? []).flatMap((sl) => sl.logRecords ?? [])
    .find((r) => r.attributes?.some((kv) => kv.key === 'armorwatch.scan.phase' && kv.value.stringValue === 'ended'));
  for (const m of SCAN_MAPPING.filter((x) => !notHere.has(x.name) && x.option === undefined)) {
    const v = raw?.attributes?.find((kv) => kv.key === m.name)?.value;
    assert.equal(anyValueKind(v), ({ int: 'int', string: 'string', 'string[]': 'array', 'int[]': 'array', boolean: 'bool' } as const)[m.type], `${m.name} is ${m.type}`);
  }
});

test('a horizontal episode names its one port as server.port / network.peer.port, and no single host', async () => {
  const exp = createAlertExporter({
    exporter: 'otlp', otlp: { endpoint: `http://${collector.grpcAddress}`, protocol: 'grpc', insecure: true, headers: {}, compression: 'none', timeoutMs: 5000 },
    queue: QUEUE, serviceName: 'armorwatch', statsIntervalMs: 0,
  }, silentLogger);
  const out: ScanDetection[] = [];
  const d = new PortScanDetector(SCAN_DEFAULTS, (x) => out.push(x));
  for (let i = 1; i <= 70; i++) d.observe(connect({ host: `10.99.1.${i}`, port: 80, ms: i, ret: -ECONNREFUSED }), HOST, NODE, i);
  d.flush();
  const start = collector.records().length;
  exp.export(out.at(-1)!);
  await exp.shutdown(5000);
  const [rec] = (await collector.waitForRecords(start + 1)).slice(start);
  assert.ok(rec);
  assert.deepEqual([rec.attributes['server.port'], rec.attributes['network.peer.port'], rec.attributes['server.address'], rec.attributes['armorwatch.scan.distinct_hosts']], [80, 80, undefined, 70]);
  assert.deepEqual(Object.keys(rec.resource).filter((k) => k.startsWith('k8s.pod')), [], 'a host process tree: node attributes only');
});

test('stdout: one KubeArmor-shaped line per record, Type PortScan, the episode under Scan', async () => {
  let text = '';
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { text += chunk.toString(); cb(); } });
  const settings: ExportSettings = { exporter: 'stdout', otlp: null, queue: QUEUE, serviceName: 'armorwatch', statsIntervalMs: 0 };
  const exp = createAlertExporter(settings, silentLogger, { stdout: sink });
  for (const x of verticalScan()) exp.export(x);
  await exp.shutdown(5000);
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as ScanAlert);
  assert.equal(lines.length, 2);
  const e = lines[1]!;
  assert.deepEqual({
    Type: e.Type, PolicyName: e.PolicyName, Operation: e.Operation, Severity: e.Severity, Resource: e.Resource, Data: e.Data,
    PodName: e.PodName, NamespaceName: e.NamespaceName, ProcessName: e.ProcessName, ATags: e.ATags, Result: e.Result,
  }, {
    Type: 'PortScan', PolicyName: 'armorwatch-port-scan', Operation: 'Network', Severity: '5',
    Resource: 'remoteip=10.99.0.2 port=1-32,… protocol=TCP',
    Data: 'syscall=SYS_CONNECT attempts=1000 ports=1000 hosts=1 succeeded=3 refused=997 failed=0',
    PodName: 'web-1', NamespaceName: 'shop', ProcessName: '/usr/bin/nmap', ATags: ['PortScan', 'MITRE', 'T1046'], Result: 'Passed',
  });
  assert.deepEqual({ id: e.Scan.Id === lines[0]!.Scan.Id, phases: lines.map((l) => l.Scan.Phase), ports: e.Scan.DistinctPorts, refused: e.Scan.Refused, open: e.Scan.OpenPorts },
    { id: true, phases: ['started', 'ended'], ports: 1000, refused: 997, open: [22, 80, 443] });
  assert.match(e.Scan.FirstTime, /^2026-11-28T17:00:00\.001000000Z$/);
});

test('port ranges of the sample', () => {
  assert.equal(portRanges([1, 2, 3, 5, 7, 8], 6), '1-3,5,7-8');
  assert.equal(portRanges([22], 40), '22,…');
  assert.equal(portRanges([], 0), '');
});
