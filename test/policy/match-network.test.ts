// Network rules (POLICY-SEMANTICS.md "Network rules", "pts", "Which rule wins") on synthetic
// network events: which sockets each protocol name matches, which calls, fromSource, pts, the
// inherited fields, the choice among rules, allow-list mode against the network posture, host
// policies — each checked on the alert a user would see.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compilePolicies } from '../../src/policy/engine.ts';
import type { NetworkEvent } from '../../src/types.ts';
import { alertFor, event, HOST, ksp, netEvent, NODE, policies, syscallAlertFor, WEB, workload } from './helpers.ts';

const AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16, AF_PACKET = 17, AF_TIPC = 30;
const STREAM = 1, DGRAM = 2, RAW = 3, RDM = 4, SEQPACKET = 5, DCCP = 6;
const ICMP = 1, TCP = 6, UDP = 17, DCCP_P = 33, ICMPV6 = 58, SCTP = 132, UDPLITE = 136, ETH_P_ALL = 768, NETLINK_ROUTE = 0;

const rule = (protocol: string, extra = ''): string => ksp('ksp-net', `  network:\n    matchProtocols:\n      - protocol: ${protocol}${extra}\n  action: Audit`);

/** socket() with this triple, as the kernel reports it. */
const sock = (domain: number, type: number, protocol: number): NetworkEvent =>
  netEvent({ syscall: 'socket', fd: 5, ret: 5, domain, type, protocol, remote: null });

type Triple = readonly [domain: number, type: number, protocol: number, what: string];
const TABLE: ReadonlyArray<readonly [name: string, yes: readonly Triple[], no: readonly Triple[]]> = [
  ['tcp', [[AF_INET, STREAM, TCP, 'IPv4 TCP'], [AF_INET6, STREAM, TCP, 'IPv6 TCP'], [AF_INET, STREAM, 0, 'stream with the default protocol'], [AF_INET, RAW, TCP, 'raw TCP (a packet crafter)']],
    [[AF_INET, DGRAM, UDP, 'UDP'], [AF_UNIX, STREAM, 0, 'a unix stream'], [AF_INET, STREAM, SCTP, 'SCTP stream']]],
  ['udp', [[AF_INET, DGRAM, UDP, 'IPv4 UDP'], [AF_INET6, DGRAM, 0, 'IPv6 datagram, default protocol'], [AF_INET, DGRAM, UDPLITE, 'UDP-Lite']],
    [[AF_INET, DGRAM, ICMP, 'a ping socket'], [AF_INET, STREAM, TCP, 'TCP'], [AF_UNIX, DGRAM, 0, 'a unix datagram socket']]],
  ['icmp', [[AF_INET, RAW, ICMP, 'raw ICMP (ping as root)'], [AF_INET, DGRAM, ICMP, 'a ping socket (unprivileged ping)']],
    [[AF_INET6, RAW, ICMPV6, 'ICMPv6'], [AF_INET, STREAM, TCP, 'TCP']]],
  ['icmpv6', [[AF_INET6, RAW, ICMPV6, 'raw ICMPv6'], [AF_INET6, DGRAM, ICMPV6, 'an ICMPv6 ping socket']], [[AF_INET, RAW, ICMP, 'ICMP']]],
  ['raw', [[AF_INET, RAW, ICMP, 'raw ICMP'], [AF_INET, RAW, 255, 'raw IP'], [AF_PACKET, RAW, ETH_P_ALL, 'a packet socket (tcpdump)']],
    [[AF_INET, DGRAM, ICMP, 'a ping socket is not raw'], [AF_NETLINK, RAW, NETLINK_ROUTE, 'netlink (ip route) is no network access (differs)']]],
  ['sctp', [[AF_INET, STREAM, SCTP, 'SCTP stream'], [AF_INET6, SEQPACKET, SCTP, 'SCTP one-to-many']], [[AF_INET, STREAM, TCP, 'TCP']]],
  ['dccp', [[AF_INET, DCCP, DCCP_P, 'DCCP']], [[AF_INET, DGRAM, UDP, 'UDP']]],
  ['packet', [[AF_PACKET, RAW, ETH_P_ALL, 'packet raw'], [AF_PACKET, DGRAM, ETH_P_ALL, 'packet cooked']], [[AF_INET, RAW, ICMP, 'raw IP']]],
  ['stream', [[AF_INET, STREAM, TCP, 'TCP'], [AF_INET6, STREAM, SCTP, 'SCTP stream']], [[AF_UNIX, STREAM, 0, 'a unix stream'], [AF_INET, DGRAM, UDP, 'UDP']]],
  ['dgram', [[AF_INET, DGRAM, UDP, 'UDP'], [AF_INET, DGRAM, ICMP, 'a ping socket']], [[AF_INET, STREAM, TCP, 'TCP']]],
  ['seqpacket', [[AF_INET, SEQPACKET, SCTP, 'SCTP seqpacket']], [[AF_UNIX, SEQPACKET, 0, 'a unix seqpacket socket']]],
  ['rdm', [[AF_TIPC, RDM, 0, 'TIPC reliable datagrams']], [[AF_INET, DGRAM, UDP, 'UDP']]],
  ['all', [[AF_INET, STREAM, TCP, 'TCP'], [AF_INET6, DGRAM, UDP, 'UDP'], [AF_PACKET, RAW, ETH_P_ALL, 'packet'], [AF_INET, DGRAM, ICMP, 'ping']],
    [[AF_UNIX, STREAM, 0, 'a unix stream'], [AF_NETLINK, RAW, NETLINK_ROUTE, 'netlink']]],
];

describe('which sockets each protocol name matches', () => {
  for (const [name, yes, no] of TABLE) {
    test(name, () => {
      for (const [d, t, p, what] of yes) assert.notEqual(alertFor(rule(name), sock(d, t, p)), null, `${name} matches ${what}`);
      for (const [d, t, p, what] of no) assert.equal(alertFor(rule(name), sock(d, t, p)), null, `${name} does not match ${what}`);
      // Case-insensitive, as the CRD lists each name in lower and upper case.
      const [d, t, p] = yes[0]!;
      assert.notEqual(alertFor(rule(name.toUpperCase()), sock(d, t, p)), null, `${name.toUpperCase()} is ${name}`);
    });
  }
  test('a protocol name armorwatch does not know matches nothing (and coverage reports it)', () => {
    assert.equal(alertFor(rule('xtcp'), sock(AF_INET, STREAM, TCP)), null);
    assert.equal(compilePolicies(policies(rule('xtcp'))).networkRules[0]?.bits, 0);
  });
});

describe('which calls a rule matches, and the alert', () => {
  const tcp = rule('tcp');
  test('socket(): Operation Network, the triple as Resource, Data syscall=SYS_SOCKET', () => {
    const a = alertFor(tcp, sock(AF_INET, STREAM, TCP));
    assert.ok(a);
    assert.equal(a.Operation, 'Network');
    assert.equal(a.Resource, 'domain=AF_INET type=SOCK_STREAM protocol=TCP');
    assert.equal(a.Data, 'syscall=SYS_SOCKET');
    assert.equal(a.Source, '/usr/bin/curl');
    assert.equal(a.ProcessName, '/usr/bin/curl');
    assert.equal(a.PolicyName, 'ksp-net');
    assert.equal(a.Type, 'MatchedPolicy');
    assert.equal(a.Result, 'Passed');
  });
  test('connect: the peer as Resource, fd in Data; a refused connect reports its error', () => {
    const a = alertFor(tcp, netEvent());
    assert.equal(a?.Resource, 'remoteip=10.0.0.7 port=5432 protocol=TCP');
    assert.equal(a?.Data, 'syscall=SYS_CONNECT fd=3');
    assert.equal(alertFor(tcp, netEvent({ ret: -111 }))?.Result, 'Connection refused');
  });
  test('accept, accept4, bind and listen match a rule of their socket\'s protocol', () => {
    const peer = { family: 'inet', address: '10.0.0.9', port: 40_000 } as const;
    const local = { family: 'inet', address: '0.0.0.0', port: 8080 } as const;
    assert.equal(alertFor(tcp, netEvent({ syscall: 'accept', fd: 4, ret: 6, remote: peer, local }))?.Data, 'syscall=SYS_ACCEPT fd=4');
    assert.equal(alertFor(tcp, netEvent({ syscall: 'accept4', fd: 4, ret: 6, remote: peer, local }))?.Resource, 'remoteip=10.0.0.9 port=40000 protocol=TCP');
    assert.equal(alertFor(tcp, netEvent({ syscall: 'bind', fd: 4, remote: null, local }))?.Resource, 'localip=0.0.0.0 port=8080 protocol=TCP');
    assert.equal(alertFor(tcp, netEvent({ syscall: 'listen', fd: 4, remote: null, local }))?.Data, 'syscall=SYS_LISTEN fd=4');
    assert.equal(alertFor(rule('udp'), netEvent({ syscall: 'bind', fd: 4, remote: null, local, type: DGRAM, protocol: UDP }))?.Resource, 'localip=0.0.0.0 port=8080 protocol=UDP');
    assert.equal(alertFor(rule('udp'), netEvent()), null, 'a TCP connect is not UDP');
  });
  test('the later outcome of a non-blocking connect is not matched a second time', () => {
    assert.notEqual(alertFor(tcp, netEvent({ ret: -115 })), null, 'the call itself (EINPROGRESS) alerts');
    assert.equal(alertFor(tcp, netEvent({ phase: 'outcome', fd: -1, ret: -111 })), null);
  });
  test('a network rule does not match file accesses, and file rules do not match network events', () => {
    assert.equal(alertFor(tcp, event({ absPath: '/etc/hosts' })), null);
    assert.equal(alertFor(ksp('ksp-f', '  file:\n    matchDirectories:\n      - dir: /\n        recursive: true\n  action: Audit'), netEvent()), null);
  });
  test('decideAll gives the network decision; syscall rules leave network calls alone', () => {
    const engine = compilePolicies(policies(tcp));
    const all = engine.decideAll({ event: netEvent(), workload: WEB }, NODE);
    assert.deepEqual(all.map((d) => [d.operation, d.policyName]), [['Network', 'ksp-net']]);
    assert.ok(['socket', 'connect', 'accept', 'accept4', 'bind', 'listen'].every((c) => engine.requiredSyscalls().has(c)), 'the network calls are needed');
    assert.ok(!compilePolicies(policies(ksp('ksp-f', '  file:\n    matchPaths:\n      - path: /etc/x'))).requiredSyscalls().has('connect'), 'and only with network rules');
  });
  test('a workload the policy does not select raises nothing', () => {
    assert.equal(alertFor(tcp, netEvent(), workload({ labels: { app: 'db' } })), null);
  });
});

describe('fromSource and pts', () => {
  const src = rule('tcp', '\n        fromSource:\n          - path: /usr/bin/wget');
  test('fromSource names the process\'s own executable', () => {
    assert.equal(alertFor(src, netEvent({ exePath: '/usr/bin/wget' }))?.PolicyName, 'ksp-net');
    assert.equal(alertFor(src, netEvent()), null, 'curl is another program');
    assert.equal(alertFor(src, netEvent({ parentExePath: '/usr/bin/wget' })), null, 'not its parent (file rules also accept the parent; network rules name the process)');
  });
  const pts = rule('tcp', '\n        pts: false');
  test('pts: false applies only to processes with a terminal; the alert carries TTY', () => {
    assert.equal(alertFor(pts, netEvent()), null);
    const a = alertFor(pts, netEvent({ tty: 'pts0' }));
    assert.equal(a?.TTY, 'pts0');
    assert.notEqual(alertFor(rule('tcp', '\n        pts: true'), netEvent()), null, 'pts: true is every process');
  });
});

describe('severity, tags, message and action', () => {
  test('a rule\'s own values win, then the network section\'s, then the spec\'s', () => {
    const y = ksp('ksp-inh', `  severity: 2
  tags: [spec-tag]
  message: spec message
  action: Audit
  network:
    severity: 6
    tags: [net-tag]
    matchProtocols:
      - protocol: tcp
        message: rule message
        action: Block
      - protocol: udp`);
    const t = alertFor(y, netEvent());
    assert.deepEqual([t?.Severity, t?.Tags, t?.Message, t?.Action], ['6', 'net-tag', 'rule message', 'Audit (Block)']);
    const u = alertFor(y, sock(AF_INET, DGRAM, UDP));
    assert.deepEqual([u?.Severity, u?.Tags, u?.Message, u?.Action], ['6', 'net-tag', 'spec message', 'Audit']);
  });
  test('no action anywhere is Block; no severity is 1', () => {
    const a = alertFor(ksp('ksp-bare', '  network:\n    matchProtocols:\n      - protocol: tcp'), netEvent());
    assert.equal(a?.Action, 'Audit (Block)');
    assert.equal(a?.Severity, '1');
  });
});

describe('which rule wins', () => {
  const audit = ksp('a-audit', '  severity: 9\n  network:\n    matchProtocols:\n      - protocol: tcp\n  action: Audit');
  const block = ksp('b-block', '  severity: 3\n  network:\n    matchProtocols:\n      - protocol: all\n  action: Block');
  test('Block before Audit whatever the severity; the other policy travels with it', () => {
    const a = alertFor(`${audit}${block}`, netEvent());
    assert.equal(a?.PolicyName, 'b-block');
    assert.deepEqual(a?.OtherPolicies, ['a-audit']);
  });
  test('an Allow naming the process\'s own executable wins over a Block for everyone', () => {
    const allowWget = ksp('c-allow', '  network:\n    matchProtocols:\n      - protocol: tcp\n        fromSource:\n          - path: /usr/bin/wget\n  action: Allow');
    assert.equal(alertFor(`${block}${allowWget}`, netEvent({ exePath: '/usr/bin/wget' })), null);
    assert.equal(alertFor(`${block}${allowWget}`, netEvent())?.PolicyName, 'b-block', 'curl is not allowed');
  });
});

describe('allow-list mode against the network posture', () => {
  const allow = ksp('ksp-allow', '  network:\n    matchProtocols:\n      - protocol: tcp\n        fromSource:\n          - path: /usr/bin/wget\n  action: Allow');
  test('what the Allow names passes; everything else alerts as DefaultPosture, audit by default', () => {
    assert.equal(alertFor(allow, netEvent({ exePath: '/usr/bin/wget' })), null);
    const curl = alertFor(allow, netEvent());
    assert.deepEqual([curl?.PolicyName, curl?.PolicyKind, curl?.Action, curl?.Severity, curl?.Operation], ['DefaultPosture', 'DefaultPosture', 'Audit', '', 'Network']);
    assert.equal(alertFor(allow, sock(AF_INET, DGRAM, UDP), workload(), NODE)?.PolicyName, 'DefaultPosture', 'DNS over UDP is not allowed either');
    assert.equal(alertFor(allow, { ...sock(AF_INET, DGRAM, UDP), exePath: '/usr/bin/wget' })?.PolicyName, 'DefaultPosture', 'nor is UDP for wget');
  });
  test('the namespace annotation kubearmor-network-posture, else --default-network-posture', () => {
    assert.equal(alertFor(allow, netEvent(), workload({ namespaceNetworkPosture: 'block' }))?.Action, 'Audit (Block)');
    assert.equal(alertFor(allow, netEvent(), WEB, NODE, { defaultNetworkPosture: 'block' })?.Action, 'Audit (Block)');
    assert.equal(alertFor(allow, netEvent(), workload({ namespaceNetworkPosture: 'audit' }), NODE, { defaultNetworkPosture: 'block' })?.Action, 'Audit', 'the annotation wins');
    assert.equal(alertFor(allow, netEvent(), workload({ namespaceFilePosture: 'block' }))?.Action, 'Audit', 'the file posture is not the network posture');
    assert.equal(alertFor(allow, netEvent(), WEB, NODE, { defaultFilePosture: 'block' })?.Action, 'Audit');
  });
  test('unix and netlink sockets stay out of the network allow list; file access stays out of it', () => {
    assert.equal(alertFor(allow, sock(AF_UNIX, STREAM, 0)), null);
    assert.equal(alertFor(allow, sock(AF_NETLINK, RAW, NETLINK_ROUTE)), null);
    assert.equal(alertFor(allow, event({ absPath: '/etc/passwd' })), null);
  });
  test('an Allow of `all` lets every network call of the workload pass; an Audit rule for the rest still alerts', () => {
    const all = ksp('ksp-all', '  network:\n    matchProtocols:\n      - protocol: all\n  action: Allow');
    assert.equal(alertFor(all, sock(AF_PACKET, RAW, ETH_P_ALL)), null);
    const raw = ksp('ksp-raw', '  network:\n    matchProtocols:\n      - protocol: raw\n  action: Audit');
    assert.equal(alertFor(`${all}${raw}`, sock(AF_INET, RAW, ICMP))?.PolicyName, 'ksp-raw');
  });
});

describe('host policies', () => {
  const hsp = `---
apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: hsp-udp
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: node-a
  severity: 5
  network:
    matchProtocols:
      - protocol: udp
        fromSource:
          - path: /usr/bin/dig
  action: Audit
`;
  const dig = sock(AF_INET, DGRAM, UDP);
  test('a host process is matched by a host policy and reported as MatchedHostPolicy', () => {
    const a = alertFor(hsp, { ...dig, exePath: '/usr/bin/dig' }, HOST);
    assert.deepEqual([a?.PolicyName, a?.Type, a?.PolicyKind, a?.Severity], ['hsp-udp', 'MatchedHostPolicy', 'KubeArmorHostPolicy', '5']);
    assert.equal(a?.NamespaceName, undefined);
  });
  test('not a container process, not another node, not another program', () => {
    assert.equal(alertFor(hsp, { ...dig, exePath: '/usr/bin/dig' }, WEB), null);
    assert.equal(alertFor(hsp, { ...dig, exePath: '/usr/bin/dig' }, HOST, { ...NODE, labels: { 'kubernetes.io/hostname': 'node-b' } }), null);
    assert.equal(alertFor(hsp, dig, HOST), null);
  });
  test('a host allow list uses the agent\'s default network posture', () => {
    const allow = hsp.replace('hsp-udp', 'hsp-allow').replace('action: Audit', 'action: Allow');
    assert.equal(alertFor(allow, { ...dig, exePath: '/usr/bin/dig' }, HOST), null);
    const other = alertFor(allow, netEvent(), HOST, NODE, { defaultNetworkPosture: 'block' });
    assert.deepEqual([other?.PolicyName, other?.Action, other?.Type], ['DefaultPosture', 'Audit (Block)', 'MatchedHostPolicy']);
  });
});

describe('syscall rules on network calls (Operation Syscall)', () => {
  const sys = ksp('ksp-netcalls', `  severity: 6
  syscalls:
    matchSyscalls:
      - syscall: [connect, bind]
        fromSource:
          - path: /usr/bin/curl
    matchPaths:
      - syscall: [connect]
        path: /run/nscd/socket`);

  test('a listed network call alerts in KubeArmor\'s shape; other calls, other programs and connect outcomes do not', () => {
    const a = syscallAlertFor(sys, netEvent());
    assert.ok(a);
    assert.equal(a.Operation, 'Syscall');
    assert.equal(a.Action, 'Audit');
    assert.equal(a.Severity, '6');
    assert.equal(a.Syscall, 'SYS_CONNECT');
    assert.match(a.Data, /^syscall=SYS_CONNECT\b/);
    assert.equal(a.PolicyName, 'ksp-netcalls');
    assert.ok(syscallAlertFor(sys, netEvent({ syscall: 'bind', remote: null, local: { family: 'inet', address: '0.0.0.0', port: 80 } })));
    assert.equal(syscallAlertFor(sys, netEvent({ syscall: 'listen', remote: null })), null, 'listen is not listed');
    assert.equal(syscallAlertFor(sys, netEvent({ exePath: '/usr/bin/wget' })), null, 'fromSource names curl');
    assert.equal(syscallAlertFor(sys, netEvent({ phase: 'outcome', ret: -111 })), null, 'the outcome is not a call of its own');
  });

  test('matchPaths on a network call matches the file of a unix socket', () => {
    const unix = (path: string, abstract = false): NetworkEvent => netEvent({ exePath: '/usr/bin/getent', domain: 1, protocol: 0, remote: { family: 'unix', path, abstract } });
    const a = syscallAlertFor(sys, unix('/run/nscd/socket'));
    assert.equal(a?.Operation, 'Syscall');
    assert.equal(syscallAlertFor(sys, unix('/run/other')), null);
    assert.equal(syscallAlertFor(sys, unix('/run/nscd/socket', true)), null, 'an abstract name is no file');
    assert.equal(syscallAlertFor(sys, netEvent({ exePath: '/usr/bin/getent' })), null, 'an inet connect has no path');
  });

  test('the kernel passes the listed network calls on any protocol, and needs their hooks', () => {
    const engine = compilePolicies(policies(sys));
    assert.deepEqual(engine.kernelFilter().network, { passAll: false, calls: ['connect', 'bind'], protocols: [] });
    assert.deepEqual(engine.kernelFilter().exactPaths, [], 'a unix socket path is no file event');
    const withTcp = compilePolicies(policies(`${sys}${ksp('ksp-tcp', '  network:\n    matchProtocols:\n      - protocol: tcp')}`));
    assert.deepEqual(withTcp.kernelFilter().network?.protocols, [], 'a protocol rule beside them: any protocol, so the syscall rule misses nothing');
    assert.ok(['connect', 'bind'].every((c) => engine.requiredSyscalls().has(c)));
  });
});
