// Alerts → the real Collector over OTLP/gRPC → its file output: every field of the mapping arrives.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAlertExporter, type ExportSettings } from '../../src/export/index.ts';
import { MAPPING, EVENT_ALERT_THROTTLE, EVENT_POLICY_MATCH, SCHEMA_URL } from '../../src/export/attributes.ts';
import { uuidV5 } from '../../src/export/resource.ts';
import type { Match } from '../../src/types.ts';
import { silentLogger } from '../../src/log.ts';
import { VERSION } from '../../src/version.ts';
import { anyValueKind, startCollector, type Collector } from '../helpers/collector.ts';
import { EXEC_MATCH, HOST_MATCH, netMatch, podMatch, SEED_ALERT, SEED_MATCH, SEED_NS, SEED_WORKLOAD } from './fixtures.ts';

let collector: Collector;
before(async () => { collector = await startCollector(); });
after(async () => { await collector.dispose(); });

function settings(endpoint: string): ExportSettings {
  return {
    exporter: 'otlp',
    otlp: { endpoint, protocol: 'grpc', insecure: true, headers: {}, compression: 'none', timeoutMs: 5000 },
    queue: { maxRecords: 10_000, maxBytes: 16 << 20, batchRecords: 1000, retryMaxElapsedMs: 60_000 },
    serviceName: 'armorwatch',
    statsIntervalMs: 0,
  };
}

// Attributes only some file matches carry: a terminal, the deprecated event.name, and the host and
// identity paths of an evasion (checked at the Collector by test/e2e/evasion.test.ts).
const CONDITIONAL: ReadonlySet<string> = new Set(['kubearmor.tty', 'event.name', 'kubearmor.host_resource', 'kubearmor.matched_resource']);

test('records of several workloads travel in one request, one ResourceLogs per workload, every mapped field typed', async () => {
  const exp = createAlertExporter(settings(`http://${collector.grpcAddress}`), silentLogger);
  const before = BigInt(Date.now()) * 1_000_000n;
  exp.export(SEED_MATCH);
  for (let i = 0; i < 3; i++) exp.export(podMatch(i, i));
  exp.export(podMatch(0, 3)); // same workload as the second record
  exp.export(HOST_MATCH);
  await exp.forceFlush();
  const afterNs = BigInt(Date.now()) * 1_000_000n;
  const stats = await exp.shutdown(5000);
  assert.equal(stats.otlp?.exported, 6);

  const recs = await collector.waitForRecords(6);
  assert.equal(recs.length, 6);
  const requests = collector.requests();
  assert.equal(requests.length, 1, 'all six records in one export request');
  const rls = requests[0]?.resourceLogs ?? [];
  assert.equal(rls.length, 5, 'seed, three pods (one of them twice) and the host: five resources');
  const perResource = rls.map((rl) => rl.scopeLogs?.reduce((n, sl) => n + (sl.logRecords?.length ?? 0), 0));
  assert.deepEqual([...perResource].sort(), [1, 1, 1, 1, 2]);

  const seed = recs.find((r) => r.attributes['process.pid'] === SEED_ALERT.HostPID);
  assert.ok(seed, 'the seed record arrived');
  assert.deepEqual(seed.resource, {
    'service.name': 'armorwatch',
    'service.version': VERSION,
    'service.instance.id': uuidV5('default/gke-cluster-1-default-pool-37f4c896-8cn6/armorwatch'),
    'k8s.cluster.name': 'default',
    'k8s.node.name': 'gke-cluster-1-default-pool-37f4c896-8cn6',
    'host.name': 'gke-cluster-1-default-pool-37f4c896-8cn6',
    'k8s.namespace.name': 'wordpress-mysql',
    'k8s.pod.name': 'wordpress-7c966b5d85-wvtln',
    'k8s.pod.uid': SEED_WORKLOAD.podUid,
    'k8s.container.name': 'wordpress',
    'container.id': '6d09394a988c5cf6b9fe260d28fdd57d6ff281618869a173965ecd94a3efac44',
    'container.runtime.name': 'containerd',
    'container.image.name': 'docker.io/library/wordpress',
    'container.image.tags': ['4.8-apache'],
    'container.image.repo_digests': ['docker.io/library/wordpress@sha256:6216f64ab88fc51d311e38c7f69ca3f9aaba621492b4f1fa93ddf63093768845'],
    'k8s.deployment.name': 'wordpress',
    'k8s.pod.label.app': 'wordpress',
  });
  assert.deepEqual(seed.attributes, {
    'process.pid': 1275441,
    'process.vpid': 342,
    'process.parent_pid': 1275298,
    'process.executable.path': '/bin/ls',
    'process.executable.name': 'ls',
    'process.user.id': 0,
    'process.real_user.id': 0,
    'process.working_directory': '/var/www/html',
    'file.path': '/etc/network/if-up.d',
    'security_rule.name': 'ksp-nist-ac-18-1-network-audit',
    'security_rule.description': 'Access to network files detected. Possible violation of NIST Controls',
    'security_rule.ruleset.name': 'KubeArmorPolicy',
    'kubearmor.type': 'MatchedPolicy',
    'kubearmor.severity': 3,
    'kubearmor.tags': [...(SEED_ALERT.ATags ?? [])],
    'kubearmor.atags': [...(SEED_ALERT.ATags ?? [])],
    'kubearmor.source': '/bin/ls',
    'kubearmor.operation': 'File',
    'kubearmor.action': 'Audit',
    'kubearmor.result': 'Passed',
    'kubearmor.enforcer': 'eBPF Monitor',
    'kubearmor.data': 'syscall=SYS_OPENAT fd=-100 flags=O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC',
    'kubearmor.syscall': 'SYS_OPENAT',
    'kubearmor.dirfd': -100,
    'kubearmor.flags': 'O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC',
    'kubearmor.ppid': 336,
    'kubearmor.parent_process_name': '/bin/bash',
    'kubearmor.resolved_resource': '/etc/network/if-up.d.real',
    'kubearmor.other_policies': ['ksp-other-1', 'ksp-other-2'],
  });
  // Every documented record attribute is there, and nothing undocumented.
  const documented = MAPPING.filter((m) => m.where === 'record' && m.only !== 'process' && m.only !== 'network' && m.only !== 'throttle' && m.only !== 'scan' && m.option === undefined && !CONDITIONAL.has(m.name)).map((m) => m.name).sort();
  assert.deepEqual(Object.keys(seed.attributes).sort(), documented);

  // Typed on the wire: ints as intValue, tags as arrays (not strings).
  const raw = rls.flatMap((rl) => rl.scopeLogs ?? []).flatMap((sl) => sl.logRecords ?? [])
    .find((r) => r.attributes?.some((kv) => kv.key === 'process.pid' && Number(kv.value.intValue) === SEED_ALERT.HostPID));
  const kind = (key: string): string => anyValueKind(raw?.attributes?.find((kv) => kv.key === key)?.value);
  for (const m of MAPPING.filter((x) => x.where === 'record' && x.only !== 'process' && x.only !== 'network' && x.only !== 'throttle' && x.only !== 'scan' && x.option === undefined && !CONDITIONAL.has(x.name))) {
    assert.equal(kind(m.name), ({ int: 'int', string: 'string', 'string[]': 'array', 'int[]': 'array', boolean: 'bool' } as const)[m.type], `${m.name} is ${m.type}`);
  }

  assert.equal(seed.severityNumber, 13, 'policy severity 3 → WARN');
  assert.equal(seed.severityText, 'WARN', 'the short name of SeverityNumber 13');
  assert.equal(seed.attributes['kubearmor.severity'], 3, 'the policy severity itself');
  assert.equal(seed.eventName, EVENT_POLICY_MATCH);
  assert.equal(seed.body, 'Audit: /bin/ls opened /etc/network/if-up.d — Access to network files detected. Possible violation of NIST Controls [ksp-nist-ac-18-1-network-audit]');
  assert.equal(seed.timeUnixNano, SEED_NS, "the kernel's nanoseconds, not rounded to µs or ms");
  const observed = BigInt(seed.observedTimeUnixNano);
  assert.ok(observed >= before && observed <= afterNs, 'observed = when the agent handled it');

  const host = recs.find((r) => r.attributes['security_rule.name'] === 'hsp-shadow');
  assert.ok(host);
  assert.deepEqual(Object.keys(host.resource).sort(), ['host.name', 'k8s.cluster.name', 'k8s.node.name', 'service.instance.id', 'service.name', 'service.version']);
  assert.equal(host.severityNumber, 21, 'policy severity 10 → FATAL');
  assert.equal(host.attributes['kubearmor.type'], 'MatchedHostPolicy');
});

test('a pod record carries its own pod name and container id, grouped apart from the others', async () => {
  const exp = createAlertExporter(settings(`http://${collector.grpcAddress}`), silentLogger);
  const start = collector.records().length;
  for (let seq = 0; seq < 40; seq++) exp.export(podMatch(seq % 4, 1000 + seq));
  await exp.shutdown(5000);
  const recs = (await collector.waitForRecords(start + 40)).slice(start);
  assert.equal(recs.length, 40);
  for (const r of recs) {
    const seq = (r.attributes['process.pid'] as number) - 101_000;
    assert.equal(r.resource['k8s.pod.name'], `wordpress-7c966b5d85-pod${seq % 4}`);
    assert.equal(r.timeUnixNano, (BigInt(SEED_NS) + BigInt(1000 + seq)).toString());
  }
});

test('a process match arrives with its process attributes (command args, executed file, caller, tty) and no file.path', async () => {
  const exp = createAlertExporter(settings(`http://${collector.grpcAddress}`), silentLogger);
  const start = collector.records().length;
  exp.export(EXEC_MATCH);
  exp.export({ ...EXEC_MATCH, event: { ...EXEC_MATCH.event, kind: 'process', hostPid: 4242, argvTruncated: true, tty: null, ret: -2, resolvedPath: null } as typeof EXEC_MATCH.event });
  await exp.shutdown(5000);
  const recs = (await collector.waitForRecords(start + 2)).slice(start);
  const ok = recs.find((r) => r.attributes['process.pid'] === EXEC_MATCH.event.hostPid);
  assert.ok(ok, 'the process record arrived');
  assert.deepEqual({ ...ok.attributes }, {
    'process.pid': 1275500,
    'process.vpid': 350,
    'process.parent_pid': 1275441,
    'process.executable.path': '/bin/apt',
    'process.executable.name': 'apt',
    'process.command_args': ['apt', 'update'],
    'process.args_count': 2,
    'process.user.id': 0,
    'process.real_user.id': 0,
    'process.working_directory': '/var/www/html',
    'security_rule.name': 'ksp-block-apt',
    'security_rule.description': 'package manager run',
    'security_rule.ruleset.name': 'KubeArmorPolicy',
    'kubearmor.type': 'MatchedPolicy',
    'kubearmor.severity': 5,
    'kubearmor.tags': ['MITRE'],
    'kubearmor.atags': ['MITRE'],
    'kubearmor.source': '/bin/bash',
    'kubearmor.operation': 'Process',
    'kubearmor.action': 'Audit (Block)',
    'kubearmor.result': 'Passed',
    'kubearmor.enforcer': 'eBPF Monitor',
    'kubearmor.data': 'syscall=SYS_EXECVE',
    'kubearmor.syscall': 'SYS_EXECVE',
    'kubearmor.ppid': 342,
    'kubearmor.parent_process_name': '/bin/bash',
    'kubearmor.tty': 'pts0',
    'kubearmor.resolved_resource': '/usr/bin/apt',
  });
  assert.equal(ok.body, 'Audit (Block): /bin/bash executed /bin/apt update — package manager run [ksp-block-apt]');
  assert.equal(ok.resource['k8s.pod.name'], 'wordpress-7c966b5d85-wvtln');
  // Every attribute a process record can carry is documented, and each documented one is typed as documented.
  const failed = recs.find((r) => r.attributes['process.pid'] === 4242);
  assert.ok(failed);
  assert.equal(failed.attributes['kubearmor.result'], 'No such file or directory');
  assert.equal(failed.attributes['kubearmor.args_truncated'], true);
  assert.equal(failed.attributes['kubearmor.tty'], undefined, 'no terminal, no tty attribute');
  const documented = new Set(MAPPING.filter((m) => m.where === 'record').map((m) => m.name));
  for (const k of [...Object.keys(ok.attributes), ...Object.keys(failed.attributes)]) assert.ok(documented.has(k), `${k} is documented`);
  for (const m of MAPPING.filter((x) => x.where === 'record' && x.only === 'process' && x.option === undefined)) {
    assert.ok(m.name in ok.attributes || m.name in failed.attributes, `${m.name} arrives on process records`);
  }
});

test('network records: socket, connect, accept and bind carry the network semantic conventions, typed, and nothing undocumented', async () => {
  const exp = createAlertExporter(settings(`http://${collector.grpcAddress}`), silentLogger);
  const start = collector.records().length;
  exp.export(netMatch({ hostPid: 990_001 }));
  exp.export(netMatch({ hostPid: 990_002, syscall: 'socket', fd: -1, ret: 5, remote: null, domain: 10, type: 2, protocol: 17 }));
  exp.export(netMatch({ hostPid: 990_003, syscall: 'accept4', fd: 7, ret: 9, domain: 10,
    remote: { family: 'inet6', address: '::ffff:10.0.0.9', port: 40_000, mappedV4: '10.0.0.9' }, local: { family: 'inet6', address: '::', port: 8080 } }));
  exp.export(netMatch({ hostPid: 990_004, syscall: 'bind', fd: 4, remote: null, domain: 10, type: 2, protocol: 17, local: { family: 'inet6', address: 'fd00::1', port: 53 } }, { action: 'Block' }));
  exp.export(netMatch({ hostPid: 990_005, syscall: 'socket', fd: -1, ret: -13, remote: null, type: 2, protocol: 1 }));
  await exp.shutdown(5000);
  const recs = (await collector.waitForRecords(start + 5)).slice(start);
  const by = (pid: number) => { const r = recs.find((x) => x.attributes['process.pid'] === pid); assert.ok(r, `record of ${pid}`); return r; };
  const connect = by(990_001);
  assert.equal(connect.body, 'Audit: /usr/bin/curl connected to remoteip=10.0.0.7 port=5432 protocol=TCP — TCP from the web tier [ksp-audit-tcp]');
  assert.deepEqual(Object.fromEntries(Object.entries(connect.attributes).filter(([k]) => /^(network|server|client|kubearmor\.(socket|operation|data|syscall))/.test(k))), {
    'network.transport': 'tcp', 'network.type': 'ipv4', 'network.peer.address': '10.0.0.7', 'network.peer.port': 5432,
    'server.address': '10.0.0.7', 'server.port': 5432,
    'kubearmor.socket.domain': 'AF_INET', 'kubearmor.socket.type': 'SOCK_STREAM', 'kubearmor.socket.protocol': 'TCP', 'kubearmor.socket.fd': 3,
    'kubearmor.operation': 'Network', 'kubearmor.data': 'syscall=SYS_CONNECT fd=3', 'kubearmor.syscall': 'SYS_CONNECT',
  });
  assert.equal(connect.attributes['file.path'], undefined, 'a network record names no file');
  const socket = by(990_002);
  assert.equal(socket.attributes['network.transport'], 'udp');
  assert.equal(socket.attributes['network.type'], 'ipv6');
  assert.equal(socket.attributes['kubearmor.socket.fd'], 5, "socket(): the fd it returned");
  assert.equal(socket.attributes['network.peer.address'], undefined);
  assert.equal(socket.attributes['kubearmor.data'], 'syscall=SYS_SOCKET');
  const accept = by(990_003);
  assert.equal(accept.attributes['network.type'], 'ipv4', 'an IPv4-mapped peer is IPv4');
  assert.equal(accept.attributes['client.address'], '10.0.0.9');
  assert.equal(accept.attributes['client.port'], 40_000);
  assert.equal(accept.attributes['server.port'], 8080, 'the listening port');
  assert.equal(accept.attributes['network.local.address'], '::');
  const bind = by(990_004);
  assert.equal(bind.attributes['network.local.address'], 'fd00::1');
  assert.equal(bind.attributes['network.local.port'], 53);
  assert.equal(bind.attributes['kubearmor.action'], 'Audit (Block)');
  assert.equal(bind.attributes['server.address'], undefined, 'bind names no server');
  const ping = by(990_005);
  assert.equal(ping.attributes['network.transport'], 'icmp', 'a ping socket');
  assert.equal(ping.attributes['kubearmor.result'], 'Permission denied');
  assert.match(String(ping.body), /^Audit: \/usr\/bin\/curl tried to create a socket domain=AF_INET type=SOCK_DGRAM protocol=ICMP \(Permission denied\)/);
  // Every attribute is documented; every network-only one arrives on some record, typed as documented.
  const documented = new Set(MAPPING.filter((m) => m.where === 'record').map((m) => m.name));
  for (const r of recs) for (const k of Object.keys(r.attributes)) assert.ok(documented.has(k), `${k} is documented`);
  const raw = collector.requests().flatMap((q) => q.resourceLogs ?? []).flatMap((rl) => rl.scopeLogs ?? []).flatMap((sl) => sl.logRecords ?? [])
    .filter((r) => r.attributes?.some((kv) => kv.key === 'kubearmor.operation' && kv.value.stringValue === 'Network'));
  for (const m of MAPPING.filter((x) => x.where === 'record' && x.only === 'network')) {
    const v = raw.flatMap((r) => r.attributes ?? []).find((kv) => kv.key === m.name)?.value;
    assert.ok(v !== undefined, `${m.name} arrives on network records`);
    assert.equal(anyValueKind(v), ({ int: 'int', string: 'string', 'string[]': 'array', 'int[]': 'array', boolean: 'bool' } as const)[m.type], `${m.name} is ${m.type}`);
  }
});

test('a throttling notice arrives with EventName armorwatch.alert.throttle, Type AlertThreshold and its counts typed', async () => {
  const exp = createAlertExporter({ ...settings(`http://${collector.grpcAddress}`), eventNameAttribute: true }, silentLogger);
  const start = collector.records().length;
  const ended: Match = { ...podMatch(3, 7), throttle: { phase: 'ended', quietMs: 30_000, total: 12, suppressed: [{ policy: 'a', count: 9 }, { policy: 'b', count: 3 }] } };
  exp.export(ended);
  await exp.shutdown(5000);
  const [rec] = (await collector.waitForRecords(start + 1)).slice(start);
  assert.ok(rec);
  assert.equal(rec.eventName, EVENT_ALERT_THROTTLE);
  assert.equal(rec.attributes['event.name'], EVENT_ALERT_THROTTLE);
  assert.equal(rec.attributes['kubearmor.type'], 'AlertThreshold');
  assert.equal(rec.attributes['armorwatch.throttle.phase'], 'ended');
  assert.equal(rec.attributes['armorwatch.throttle.suppressed'], 12);
  assert.deepEqual(rec.attributes['armorwatch.throttle.suppressed_by_policy'], ['a=9', 'b=3']);
  assert.equal(rec.resource['k8s.pod.name'], 'wordpress-7c966b5d85-pod3', 'on the Resource of the throttled workload');
  assert.match(String(rec.body), /^Alert throttling ended for container .*: 12 alerts suppressed in 30 s \(a=9, b=3\)$/);
});

test('process.user.id is the effective uid (a setuid program runs as its owner), process.real_user.id the user who started it', async () => {
  const exp = createAlertExporter(settings(`http://${collector.grpcAddress}`), silentLogger);
  const start = collector.records().length;
  // passwd, setuid root, started by uid 1000: the kernel checks permissions against euid 0.
  exp.export({ ...SEED_MATCH, event: { ...SEED_MATCH.event, hostPid: 777_001, uid: 1000, euid: 0 } });
  // A daemon that dropped privileges with seteuid: real uid 0, effective 33.
  exp.export({ ...EXEC_MATCH, event: { ...EXEC_MATCH.event, hostPid: 777_002, uid: 0, euid: 33 } });
  await exp.shutdown(5000);
  const recs = (await collector.waitForRecords(start + 2)).slice(start);
  const file = recs.find((r) => r.attributes['process.pid'] === 777_001);
  const exec = recs.find((r) => r.attributes['process.pid'] === 777_002);
  assert.ok(file && exec, 'both records arrived');
  assert.equal(file.attributes['process.user.id'], 0);
  assert.equal(file.attributes['process.real_user.id'], 1000);
  assert.equal(exec.attributes['process.user.id'], 33);
  assert.equal(exec.attributes['process.real_user.id'], 0);
});

test('every Resource names its schema_url; service.instance.id is one per node and agent, the same after a restart, and the user can set it', async () => {
  const start = collector.records().length;
  const startRequests = collector.requests().length;
  const otherNode = { ...SEED_MATCH.node, hostName: 'node-b' };
  for (const extra of [{}, {}, { 'service.instance.id': 'mine' }] as Record<string, string>[]) { // two agent starts, then one with a chosen id
    const exp = createAlertExporter({ ...settings(`http://${collector.grpcAddress}`), resourceAttributes: extra }, silentLogger);
    exp.export({ ...SEED_MATCH, event: { ...SEED_MATCH.event, hostPid: 888_001 } });
    exp.export({ ...HOST_MATCH, event: { ...HOST_MATCH.event, hostPid: 888_002 } });
    exp.export({ ...HOST_MATCH, node: otherNode, event: { ...HOST_MATCH.event, hostPid: 888_003 } });
    await exp.shutdown(5000);
  }
  const recs = (await collector.waitForRecords(start + 9)).slice(start);
  const ids = recs.map((r) => [r.attributes['process.pid'], r.resource['service.instance.id']]);
  const nodeA = uuidV5('default/gke-cluster-1-default-pool-37f4c896-8cn6/armorwatch');
  assert.deepEqual(ids, [
    [888_001, nodeA], [888_002, nodeA], [888_003, uuidV5('default/node-b/armorwatch')],
    [888_001, nodeA], [888_002, nodeA], [888_003, uuidV5('default/node-b/armorwatch')],
    [888_001, 'mine'], [888_002, 'mine'], [888_003, 'mine'],
  ]);
  assert.notEqual(nodeA, uuidV5('default/node-b/armorwatch'));
  assert.equal(recs[0]!.resource['container.runtime.name'], 'containerd');
  assert.equal(recs[1]!.resource['container.runtime.name'], undefined, 'a host process runs in no container');
  const rls = collector.requests().slice(startRequests).flatMap((r) => r.resourceLogs ?? []);
  assert.ok(rls.length >= 9);
  for (const rl of rls) assert.equal((rl as { schemaUrl?: string }).schemaUrl, SCHEMA_URL);
});

test('the deprecated event.name attribute arrives only with eventNameAttribute; EventName always', async () => {
  const start = collector.records().length;
  for (const [pid, eventNameAttribute] of [[999_001, false], [999_002, true]] as const) {
    const exp = createAlertExporter({ ...settings(`http://${collector.grpcAddress}`), eventNameAttribute }, silentLogger);
    exp.export({ ...SEED_MATCH, event: { ...SEED_MATCH.event, hostPid: pid } });
    await exp.shutdown(5000);
  }
  const recs = (await collector.waitForRecords(start + 2)).slice(start);
  const off = recs.find((r) => r.attributes['process.pid'] === 999_001);
  const on = recs.find((r) => r.attributes['process.pid'] === 999_002);
  assert.ok(off && on, 'both records arrived');
  assert.equal(off.eventName, EVENT_POLICY_MATCH);
  assert.equal(on.eventName, EVENT_POLICY_MATCH);
  assert.equal('event.name' in off.attributes, false, 'off by default');
  assert.equal(on.attributes['event.name'], EVENT_POLICY_MATCH);
});
