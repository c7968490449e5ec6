// Network rules end to end: two pods run through containerd, a real kube-apiserver serving them
// (one namespace annotated kubearmor-network-posture: block, one not), the real agent
// (`bin/armorwatch run`, real eBPF network hooks) and the real Collector; the pods make real
// sockets with busybox — a TCP listener and clients on loopback, UDP, ping (ICMP) — and a host
// process (curl) connects to a listener of the test. Checked at the Collector and on stdout:
// protocol rules, fromSource, allow-list mode with the posture from the annotation (block) and from
// the agent's default (audit), and a host policy on host processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { buildBusyboxRootfs, needsContainerd, NS, SOCKET } from '../helpers/containerd.ts';
import type { CollectedRecord } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { defer } from '../helpers/cleanup.ts';
import { needsControlPlane, startControlPlane } from '../helpers/kube-apiserver.ts';
import { agentIdentity, putObjects } from '../helpers/kube-objects.ts';
import { corpusDir } from '../policy/shared-dir.ts';
import { ContainerShell, eventually, matchedPolicies, runAgent, seedOwners, servedNode, servePod, startStack, warmUp, type Access, type Stack } from './cluster.ts';

const BLOCKED = { name: 'wordpress-7c966b5d85-net01', namespace: 'wordpress-mysql', labels: { app: 'wordpress', 'pod-template-hash': '7c966b5d85' } };
const AUDITED = { name: 'web-net02', namespace: 'shop', labels: { app: 'wordpress' } };
/** A copy of busybox elsewhere (still named busybox, so that it runs its first argument): the one program the Allow rule names (fromSource). */
const ALLOWED = '/tmp/allowed/busybox';

let stack: Stack | null = null;
let dir = '';
let sandboxRootfs = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aw-e2e-net-'));
  sandboxRootfs = buildBusyboxRootfs(join(dir, 'sandbox'));
  stack = await startStack();
});
after(async () => {
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The network records of one process (by host pid), in the order the kernel saw them. */
function netRecords(s: Stack, a: Pick<Access, 'hostPid'>): CollectedRecord[] {
  return s.collector.records().filter((r) => r.attributes['process.pid'] === a.hostPid && r.attributes['kubearmor.operation'] === 'Network')
    .sort((x, y) => (BigInt(x.timeUnixNano) < BigInt(y.timeUnixNano) ? -1 : 1));
}

/** A host program run to its end (asynchronously: the test's own server must keep serving), with its pid and output. */
function hostRun(file: string, args: string[]): Promise<{ pid: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve({ pid: c.pid!, stdout }) : reject(new Error(`${file} exited ${code}`))));
  });
}

const pick = (r: CollectedRecord, ...keys: string[]): unknown[] => keys.map((k) => r.attributes[k]);

test('network rules: protocols, fromSource, allow-list with posture block and audit, a host policy — real sockets, real eBPF', { timeout: 300_000 }, async (t) => {
  const s = needsContainerd(t) && needsBpf(t) && needsControlPlane(t) ? stack : null;
  if (s === null) return;
  const curl = realpathSync('/usr/bin/curl');
  const policy = join(dir, 'network.yaml');
  writeFileSync(policy, [
    {
      apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorClusterPolicy',
      metadata: { name: 'csp-net-audit' },
      spec: {
        selector: { matchExpressions: [{ key: 'namespace', operator: 'In', values: [BLOCKED.namespace, AUDITED.namespace] }] },
        severity: 4,
        tags: ['NET'],
        // The file rule warms the agent's caches (warmUp); the network rules are the ones under test.
        file: { matchPaths: [{ path: '/etc/network/if-up.d' }] },
        network: { matchProtocols: [{ protocol: 'UDP', message: 'udp out' }, { protocol: 'icmp', severity: 7, message: 'ping' }] },
        action: 'Audit',
      },
    },
    {
      apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorClusterPolicy',
      metadata: { name: 'csp-net-allow' },
      spec: {
        selector: { matchExpressions: [{ key: 'namespace', operator: 'In', values: [BLOCKED.namespace, AUDITED.namespace] }] },
        network: { matchProtocols: [{ protocol: 'tcp', fromSource: [{ path: ALLOWED }] }] },
        action: 'Allow',
      },
    },
    {
      apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorHostPolicy',
      metadata: { name: 'hsp-curl-tcp' },
      spec: {
        nodeSelector: { matchLabels: { 'kubearmor.io/hostname': '*' } },
        severity: 9,
        network: { matchProtocols: [{ protocol: 'tcp', fromSource: [{ path: curl }] }] },
        action: 'Block',
      },
    },
  ].map((d) => `---\n${stringify(d)}`).join(''));

  const cp = await startControlPlane();
  defer(t, 'cp.stop', () => cp.stop());
  const owners = seedOwners();
  const ns = owners.find((o) => o.kind === 'Namespace')!;
  ns.metadata.annotations = { ...ns.metadata.annotations, 'kubearmor-network-posture': 'block' };
  const shop = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: AUDITED.namespace, labels: { 'kubernetes.io/metadata.name': AUDITED.namespace } } };
  const created = await putObjects(cp, [servedNode(), ...owners, shop]);
  const blocked = await servePod(t, cp, s, sandboxRootfs, created, BLOCKED, 'wordpress', true);
  const audited = await servePod(t, cp, s, sandboxRootfs, created, AUDITED, 'web', false);
  const { kubeconfig } = await agentIdentity(cp);

  const agent = await runAgent(t, s, policy, { KUBECONFIG: kubeconfig, ARMORWATCH_EXPORTER: 'both' });
  const sh = await ContainerShell.open(blocked.id);
  t.after(() => sh.close());
  const sh2 = await ContainerShell.open(audited.id);
  t.after(() => sh2.close());
  // Listeners run from shells of their own, so that each client is the first child of its shell (Access).
  const lsh = await ContainerShell.open(blocked.id);
  t.after(() => lsh.close());
  const lsh2 = await ContainerShell.open(audited.id);
  t.after(() => lsh2.close());
  await warmUp(s.collector, sh, 'k8s.container.name');
  await warmUp(s.collector, sh2, 'k8s.container.name');
  for (const shell of [sh, sh2]) await shell.run(`/bin/busybox mkdir -p /tmp/allowed && /bin/busybox cp /bin/busybox ${ALLOWED}`);

  // TCP on loopback: listeners run by the allowed program; one client allowed, one not.
  await lsh.run(`${ALLOWED} nc -l -p 8081 -e /bin/busybox echo one & ${ALLOWED} nc -l -p 8082 -e /bin/busybox echo two & /bin/busybox sleep 0.5`);
  const allowedClient = await sh.access(`${ALLOWED} nc 127.0.0.1 8081 </dev/null`);
  assert.equal(allowedClient.output, 'one\n', 'the allowed client connected');
  const otherClient = await sh.access('/bin/busybox nc 127.0.0.1 8082 </dev/null');
  assert.equal(otherClient.output, 'two\n', 'the other client connected');
  // A DNS query over UDP to a port where nothing answers.
  const udp = await sh.access('/bin/busybox nslookup -timeout=1 example.com 127.0.0.1 2>&1');
  const ping = await sh.access('/bin/busybox ping -c 1 -W 1 127.0.0.1');
  assert.match(ping.output, /1 packets received/, 'ping answered');
  // The same client in the namespace without the annotation: the agent's default posture, audit.
  await lsh2.run(`${ALLOWED} nc -l -p 8083 -e /bin/busybox echo three & /bin/busybox sleep 0.5`);
  const auditedClient = await sh2.access('/bin/busybox nc 127.0.0.1 8083 </dev/null');
  assert.equal(auditedClient.output, 'three\n');

  // A host process: curl (named by the host policy) to a listener of the test; busybox wget is not named.
  const server = createServer((c) => c.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const hostCurl = await hostRun(curl, ['-s', '--max-time', '5', `http://127.0.0.1:${port}/`]);
  assert.equal(hostCurl.stdout, 'ok');
  const hostWget = await hostRun('/usr/bin/busybox', ['wget', '-q', '-O', '-', `http://127.0.0.1:${port}/`]);
  assert.equal(hostWget.stdout, 'ok');

  const counts = () => ({ other: netRecords(s, otherClient).length, udp: netRecords(s, udp).length, ping: netRecords(s, ping).length,
    audited: netRecords(s, auditedClient).length, curl: netRecords(s, { hostPid: hostCurl.pid }).length });
  await eventually('the records of every network call', 30_000, () => Object.values(counts()).every((n) => n >= 1) ? true : undefined)
    .catch((err: Error) => {
      const seen = s.collector.records().filter((r) => r.attributes['kubearmor.operation'] === 'Network')
        .map((r) => `${String(r.attributes['process.pid'])} ${String(r.attributes['process.executable.path'])} ${String(r.attributes['kubearmor.syscall'])} ${String(r.attributes['security_rule.name'])}`);
      throw new Error(`${err.message}: ${JSON.stringify(counts())}; pids other=${otherClient.hostPid} udp=${udp.hostPid} ping=${ping.hostPid} audited=${auditedClient.hostPid} curl=${hostCurl.pid}; network records: ${seen.join(' | ')}`);
    });
  // Let late records land (the pods' last calls) before the agent stops, so none meets the shutdown.
  let last = -1;
  await eventually('no new record for a second', 20_000, async () => {
    const n = s.collector.records().length;
    if (n === last) return true;
    last = n;
    await new Promise((r) => setTimeout(r, 1000));
    return undefined;
  });
  await agent.stop();

  // Allowed: the allowed program's TCP calls raise nothing (its listener's socket/bind/listen/accept neither).
  assert.deepEqual(netRecords(s, allowedClient), [], 'the allowed client');
  assert.equal(s.collector.records().filter((r) => r.attributes['kubearmor.operation'] === 'Network' && r.attributes['process.executable.path'] === ALLOWED
    && r.attributes['network.transport'] === 'tcp').length, 0, 'no TCP record of the allowed program at all');

  // Not allowed, namespace annotated block: DefaultPosture, Audit (Block), for socket() and connect().
  const other = netRecords(s, otherClient);
  const otherSocket = other.find((r) => r.attributes['kubearmor.syscall'] === 'SYS_SOCKET');
  const otherConnect = other.find((r) => r.attributes['kubearmor.syscall'] === 'SYS_CONNECT');
  assert.ok(otherSocket && otherConnect, `socket and connect records: ${other.map((r) => r.attributes['kubearmor.syscall']).join(', ')}`);
  assert.deepEqual(pick(otherConnect, 'security_rule.name', 'security_rule.ruleset.name', 'kubearmor.action', 'network.transport', 'network.type', 'network.peer.address', 'network.peer.port', 'server.port', 'kubearmor.result'),
    ['DefaultPosture', 'DefaultPosture', 'Audit (Block)', 'tcp', 'ipv4', '127.0.0.1', 8082, 8082, 'Passed']);
  assert.match(String(otherConnect.attributes['kubearmor.data']), /^syscall=SYS_CONNECT fd=[0-9]+$/);
  assert.equal(otherConnect.attributes['kubearmor.data'], `syscall=SYS_CONNECT fd=${otherSocket.attributes['kubearmor.socket.fd']}`, 'the fd socket() returned');
  assert.equal(otherSocket.attributes['kubearmor.data'], 'syscall=SYS_SOCKET');
  assert.equal(otherConnect.resource['k8s.pod.name'], BLOCKED.name);

  // UDP: the Audit rule (protocol written UDP), with its own message and the policy's severity.
  const u = netRecords(s, udp).find((r) => r.attributes['kubearmor.syscall'] === 'SYS_SOCKET');
  assert.ok(u, 'the UDP socket record');
  assert.deepEqual(pick(u, 'security_rule.name', 'kubearmor.action', 'kubearmor.severity', 'security_rule.description', 'network.transport', 'kubearmor.socket.type', 'kubearmor.tags'),
    ['csp-net-audit', 'Audit', 4, 'udp out', 'udp', 'SOCK_DGRAM', ['NET']]);
  for (const r of netRecords(s, udp)) assert.equal(r.attributes['network.transport'], 'udp', `${String(r.attributes['kubearmor.syscall'])} on the UDP socket`);

  // ping: an ICMP socket (raw as root, or a ping socket), matched by the icmp rule.
  const p = netRecords(s, ping).find((r) => r.attributes['kubearmor.syscall'] === 'SYS_SOCKET');
  assert.ok(p, 'the ping socket record');
  assert.deepEqual(pick(p, 'security_rule.name', 'kubearmor.severity', 'security_rule.description', 'network.transport', 'kubearmor.socket.protocol'), ['csp-net-audit', 7, 'ping', 'icmp', 'ICMP']);
  assert.match(String(p.attributes['kubearmor.socket.type']), /^SOCK_(RAW|DGRAM)$/);

  // The namespace without the annotation: DefaultPosture with the agent's default posture, audit.
  const a = netRecords(s, auditedClient).find((r) => r.attributes['kubearmor.syscall'] === 'SYS_CONNECT');
  assert.deepEqual(a && pick(a, 'security_rule.name', 'kubearmor.action', 'network.peer.port'), ['DefaultPosture', 'Audit', 8083]);
  assert.equal(a?.resource['k8s.namespace.name'], AUDITED.namespace);

  // The host policy: curl's TCP socket and connect, as host records; busybox wget on the host raises nothing.
  const h = netRecords(s, { hostPid: hostCurl.pid });
  const hc = h.find((r) => r.attributes['kubearmor.syscall'] === 'SYS_CONNECT');
  assert.ok(hc, `curl's connect record among ${h.length}`);
  assert.deepEqual(pick(hc, 'security_rule.name', 'kubearmor.type', 'kubearmor.action', 'kubearmor.severity', 'server.address', 'server.port', 'process.executable.path'),
    ['hsp-curl-tcp', 'MatchedHostPolicy', 'Audit (Block)', 9, '127.0.0.1', port, curl]);
  assert.equal(hc.resource['k8s.pod.name'], undefined, 'a host process is in no pod');
  assert.deepEqual(netRecords(s, { hostPid: hostWget.pid }), [], 'wget is not the program the host policy names');

  // The same matches as KubeArmor lines on stdout.
  const lines = agent.running.out().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((x) => x.Operation === 'Network');
  const line = (pid: number, syscall: string) => lines.find((x) => x.HostPID === pid && x.Syscall === syscall);
  const oc = line(otherClient.hostPid, 'SYS_CONNECT');
  assert.deepEqual(oc && [oc.Resource, oc.PolicyName, oc.Action, oc.PodName, oc.Type], ['remoteip=127.0.0.1 port=8082 protocol=TCP', 'DefaultPosture', 'Audit (Block)', BLOCKED.name, 'MatchedPolicy']);
  assert.match(String(oc?.Data), /^syscall=SYS_CONNECT fd=[0-9]+$/);
  const os = line(otherClient.hostPid, 'SYS_SOCKET');
  assert.deepEqual(os && [os.Resource, os.Data], ['domain=AF_INET type=SOCK_STREAM protocol=TCP', 'syscall=SYS_SOCKET']);
  const hl = line(hostCurl.pid, 'SYS_CONNECT');
  assert.deepEqual(hl && [hl.Resource, hl.Type, hl.PolicyName], [`remoteip=127.0.0.1 port=${port} protocol=TCP`, 'MatchedHostPolicy', 'hsp-curl-tcp']);
  assert.equal(lines.filter((x) => x.HostPID === allowedClient.hostPid).length, 0, 'no line for the allowed client');
});

const TERMINAL = { name: 'web-pts03', namespace: 'shop', labels: { app: 'pts' } };

test('pts: a network rule with pts: false alerts for a connect from a terminal (ctr exec -t, as kubectl exec -it), with its TTY, and not for the same connect without one', { timeout: 300_000 }, async (t) => {
  const s = needsContainerd(t) && needsBpf(t) && needsControlPlane(t) ? stack : null;
  if (s === null) return;
  const policy = join(dir, 'pts.yaml');
  writeFileSync(policy, `---\n${stringify({
    apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorPolicy',
    metadata: { name: 'ksp-tcp-from-terminal', namespace: TERMINAL.namespace },
    spec: {
      selector: { matchLabels: TERMINAL.labels },
      severity: 6,
      // The file rule warms the agent's caches (warmUp); the network rule is the one under test.
      file: { matchPaths: [{ path: '/etc/network/if-up.d' }] },
      network: { matchProtocols: [{ protocol: 'tcp', pts: false, message: 'TCP from a terminal' }] },
      action: 'Audit',
    },
  })}`);
  const cp = await startControlPlane();
  defer(t, 'cp.stop', () => cp.stop());
  const shop = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TERMINAL.namespace, labels: { 'kubernetes.io/metadata.name': TERMINAL.namespace } } };
  const created = await putObjects(cp, [servedNode(), shop]);
  const pod = await servePod(t, cp, s, sandboxRootfs, created, TERMINAL, 'web', false);
  const { kubeconfig } = await agentIdentity(cp);
  const agent = await runAgent(t, s, policy, { KUBECONFIG: kubeconfig, ARMORWATCH_EXPORTER: 'both' });
  const sh = await ContainerShell.open(pod.id);
  t.after(() => sh.close());
  const lsh = await ContainerShell.open(pod.id);
  t.after(() => lsh.close());
  await warmUp(s.collector, sh, 'k8s.container.name');
  await lsh.run('/bin/busybox nc -l -p 8091 -e /bin/busybox echo tty & /bin/busybox nc -l -p 8092 -e /bin/busybox echo none & /bin/busybox sleep 0.5');

  // Without a terminal: the shell's child, as every other client of these tests.
  const plain = await sh.access('/bin/busybox nc 127.0.0.1 8092 </dev/null');
  assert.equal(plain.output, 'none\n', 'the client without a terminal connected');
  // With one: script(1) gives ctr a pty on the host, and `ctr task exec -t` gives the process in the
  // container a terminal of its own (runc's console), its controlling terminal — what `kubectl exec -it` does.
  // (A shell around nc: ctr can lose what a process on a terminal wrote if it exits at once.)
  const exec = `ctr --address ${SOCKET} -n ${NS} task exec -t --exec-id aw-pts-${process.pid} ${pod.id} /bin/busybox sh -c '/bin/busybox nc 127.0.0.1 8091; /bin/busybox sleep 0.5'`;
  const term = await hostRun('/usr/bin/script', ['-qec', exec, '/dev/null']);
  assert.match(term.stdout, /tty/, 'the client on a terminal connected');

  const alerts = (): CollectedRecord[] => s.collector.records()
    .filter((r) => r.attributes['security_rule.name'] === 'ksp-tcp-from-terminal' && r.attributes['kubearmor.operation'] === 'Network');
  const onTerminal = await eventually('the alert of the connect from a terminal', 30_000,
    () => alerts().find((r) => r.attributes['kubearmor.syscall'] === 'SYS_CONNECT' && r.attributes['network.peer.port'] === 8091));
  // The later call without a terminal has been seen by now if it ever would be: its records come in kernel order.
  await agent.stop();
  assert.match(String(onTerminal.attributes['kubearmor.tty']), /^pts\d+$/, 'the alert names the terminal');
  assert.deepEqual(pick(onTerminal, 'kubearmor.action', 'kubearmor.severity', 'security_rule.description', 'network.transport', 'server.address'),
    ['Audit', 6, 'TCP from a terminal', 'tcp', '127.0.0.1']);
  assert.equal(onTerminal.resource['k8s.pod.name'], TERMINAL.name);
  const ttyPid = onTerminal.attributes['process.pid'] as number;
  assert.deepEqual(alerts().filter((r) => r.attributes['process.pid'] === ttyPid).map((r) => r.attributes['kubearmor.syscall']).sort(), ['SYS_CONNECT', 'SYS_SOCKET'],
    'its socket() is matched too');
  assert.deepEqual(alerts().filter((r) => r.attributes['process.pid'] !== ttyPid).map((r) => `${String(r.attributes['process.pid'])} ${String(r.attributes['kubearmor.syscall'])}`), [],
    `no alert for the client without a terminal (pid ${plain.hostPid}), nor any other process`);
  // The same alert as a KubeArmor line, with its TTY.
  const line = agent.running.out().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((x) => x.HostPID === ttyPid && x.Syscall === 'SYS_CONNECT');
  assert.deepEqual(line && [line.PolicyName, line.TTY, line.Resource], ['ksp-tcp-from-terminal', onTerminal.attributes['kubearmor.tty'], 'remoteip=127.0.0.1 port=8091 protocol=TCP']);
});

const UBUNTU_1 = { name: 'ubuntu-1-corpus', namespace: 'multiubuntu', labels: { container: 'ubuntu-1' } };
const NIST = { name: 'ubuntu-nist', namespace: 'default', labels: { app: 'ubuntu' } };

/** The public corpus's files holding a network section, copied into `into`; their documents' keys (kind/namespace/name). */
function corpusNetworkFiles(into: string): { files: number; keys: string[] } {
  mkdirSync(into, { recursive: true });
  const keys: string[] = [];
  let files = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) { walk(p); continue; }
      if (!/\.ya?ml$/.test(e.name)) continue;
      const docs = parseAllDocuments(readFileSync(p, 'utf8')).map((x) => x.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: { network?: unknown } } | null);
      const net = docs.filter((x) => x?.spec?.network !== undefined);
      if (net.length === 0) continue;
      copyFileSync(p, join(into, `${++files}-${e.name}`));
      for (const x of net) keys.push(`${x!.kind}/${x!.kind === 'KubeArmorHostPolicy' ? '' : `${x!.metadata?.namespace ?? 'default'}/`}${x!.metadata?.name}`);
    }
  };
  walk(corpusDir());
  return { files, keys };
}

test('the public corpus network policies in a real run: every one loads or is rejected with its reason, DNS rules and names given twice are reported, and their ICMP, raw, TCP allow-list and TCP/UDP audit rules fire on real sockets', { timeout: 300_000 }, async (t) => {
  const s = needsContainerd(t) && needsBpf(t) && needsControlPlane(t) ? stack : null;
  if (s === null) return;
  const policies = join(dir, 'corpus-network');
  const corpus = corpusNetworkFiles(policies);
  assert.ok(corpus.files >= 35, `the corpus's network policies (${corpus.files} files)`);
  const cp = await startControlPlane();
  defer(t, 'cp.stop', () => cp.stop());
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: UBUNTU_1.namespace, labels: { 'kubernetes.io/metadata.name': UBUNTU_1.namespace } } };
  const created = await putObjects(cp, [servedNode(), ns]);
  const u1 = await servePod(t, cp, s, sandboxRootfs, created, UBUNTU_1, 'ubuntu-1', false);
  const nist = await servePod(t, cp, s, sandboxRootfs, created, NIST, 'ubuntu', false);
  const { kubeconfig } = await agentIdentity(cp);
  const agent = await runAgent(t, s, policies, { KUBECONFIG: kubeconfig });

  // What the agent said at load: everything in force but the one document the CRD refuses.
  const logs = agent.running.err().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const inForce = logs.find((l) => l.msg === 'policies in force');
  assert.ok(inForce, 'the policies in force line');
  assert.equal(inForce.policies, corpus.keys.length - 1, 'every network document of the corpus is in force but one');
  assert.equal(inForce.rejected, 1);
  assert.ok(logs.some((l) => l.level === 'error' && /^policy rejected: .*hsp-audit-network-protocol\.yaml:\d+:\d+: spec\.network\.matchProtocols\[0\]: missing required "fromSource"/.test(String(l.msg))),
    'the host policy without fromSource (the CRD requires it) is rejected with its reason');
  const unobserved = logs.filter((l) => l.code === 'AW_POLICY_UNOBSERVED');
  assert.deepEqual(unobserved.map((l) => [l.policy, (l.unobserved as string[]).map((u) => u.split(':')[0])]),
    [['KubeArmorPolicy/multiubuntu/block-dns-query-to-google', ['spec.network.matchDNSQueries']]], 'the DNS rule is the one part not observed, and it is said');
  const twice = logs.filter((l) => l.code === 'AW_POLICY_SAME_NAME').map((l) => l.policy).sort();
  assert.deepEqual(twice, [...new Set(corpus.keys.filter((k, i) => corpus.keys.indexOf(k) !== i))].sort(), 'each name given twice is said');

  // Real sockets in the two pods.
  const sh = await ContainerShell.open(u1.id);
  t.after(() => sh.close());
  const lsh = await ContainerShell.open(u1.id);
  t.after(() => lsh.close());
  const sh2 = await ContainerShell.open(nist.id);
  t.after(() => sh2.close());
  const lsh2 = await ContainerShell.open(nist.id);
  t.after(() => lsh2.close());
  await lsh.run('/bin/busybox nc -l -p 8101 -e /bin/busybox echo one & /bin/busybox sleep 0.5');
  await lsh2.run('/bin/busybox nc -l -p 8102 -e /bin/busybox echo two & /bin/busybox sleep 0.5');
  // The first pod's records may come before the agent knows the pod: repeat until one is attributed.
  const ping = await eventually('a ping of the ubuntu-1 pod attributed to it', 60_000, async () => {
    const a = await sh.access('/bin/busybox ping -c 1 -W 1 127.0.0.1');
    const r = await eventually('its record', 10_000, () => netRecords(s, a)[0]).catch(() => undefined);
    return r?.resource['k8s.pod.name'] === UBUNTU_1.name ? a : undefined;
  });
  const tcp = await sh.access('/bin/busybox nc 127.0.0.1 8101 </dev/null');
  assert.equal(tcp.output, 'one\n');
  const tcp2 = await sh2.access('/bin/busybox nc 127.0.0.1 8102 </dev/null');
  assert.equal(tcp2.output, 'two\n');
  const udp2 = await sh2.access('/bin/busybox nslookup -timeout=1 example.com 127.0.0.1 2>&1');
  await eventually('the records of every call', 30_000, () => [tcp, tcp2, udp2].every((a) => netRecords(s, a).some((r) => r.attributes['kubearmor.syscall'] === 'SYS_CONNECT')) ? true : undefined);
  await agent.stop();

  const policiesOf = (a: Access, syscall: string): string[] => netRecords(s, a).filter((r) => r.attributes['kubearmor.syscall'] === syscall).flatMap(matchedPolicies);
  // ping's socket: ICMP on a raw socket (busybox as root) — the icmp Audit rules and the raw Block rule of the corpus.
  const pingSocket = netRecords(s, ping).find((r) => r.attributes['kubearmor.syscall'] === 'SYS_SOCKET');
  assert.ok(pingSocket, 'the ping socket record');
  const pinged = new Set(matchedPolicies(pingSocket));
  assert.ok(pinged.has('ksp-ubuntu-1-audit-net-icmp'), `the icmp audit rule: ${[...pinged].join(', ')}`);
  // busybox ping as root opens SOCK_RAW (it falls back to an ICMP datagram socket only without
  // CAP_NET_RAW): the raw rule must be judged, not skipped.
  assert.equal(pingSocket.attributes['kubearmor.socket.type'], 'SOCK_RAW', 'busybox ping as root uses a raw socket');
  assert.ok(pinged.has('ksp-ubuntu-1-net-raw-block'), `the raw rule: ${[...pinged].join(', ')}`);
  // TCP from busybox in the pod the Allow rules (curl only) select: outside the allow list, the namespace's posture (audit).
  assert.deepEqual([...new Set(policiesOf(tcp, 'SYS_CONNECT'))], ['DefaultPosture']);
  // The NIST audits select app=ubuntu in default: TCP and UDP, each by its own policy.
  assert.ok(policiesOf(tcp2, 'SYS_CONNECT').includes('ksp-nist-ca-3-net-tcp-audit'), `tcp: ${policiesOf(tcp2, 'SYS_CONNECT').join(', ')}`);
  assert.ok(policiesOf(udp2, 'SYS_SOCKET').includes('ksp-nist-ca-3-net-udp-audit'), `udp: ${policiesOf(udp2, 'SYS_SOCKET').join(', ')}`);
});
