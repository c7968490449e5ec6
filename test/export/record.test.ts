// The pieces of the mapping that need no Collector: the two renderers of a match, severity table,
// body line, image split, retry verdicts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeverityNumber } from '@opentelemetry/api';
import { alertLine, renderAlert } from '../../src/export/kubearmor.ts';
import { matchText } from '../../src/export/match.ts';
import { matchBody, matchRecordFields, nsToHrTime, recordAttributes } from '../../src/export/record.ts';
import { splitImage } from '../../src/export/resource.ts';
import { backoffDelay, classifyExportError, DEFAULT_BACKOFF } from '../../src/export/retry.ts';
import { SEVERITY_TABLE, toSeverityNumber } from '../../src/export/severity.ts';
import type { Match } from '../../src/types.ts';
import { EXEC_MATCH, HOST_MATCH, netMatch, SEED_ALERT, SEED_DECISION, SEED_EVENT, SEED_MATCH } from './fixtures.ts';

test("the KubeArmor renderer prints the seed's match as its Expected Alert, byte for byte and in KubeArmor's field order", () => {
  assert.equal(alertLine(SEED_MATCH), `${JSON.stringify(SEED_ALERT)}\n`);
  const host = renderAlert(HOST_MATCH);
  for (const k of ['NamespaceName', 'Owner', 'PodName', 'Labels', 'ContainerID', 'ContainerName', 'ContainerImage']) assert.ok(!(k in host), `${k} absent for a host process`);
  assert.equal(host.Type, 'MatchedHostPolicy');
});

test('the KubeArmor renderer: a process match reads Operation Process, the command line, the caller as Source, TTY', () => {
  const a = renderAlert(EXEC_MATCH);
  assert.equal(a.Operation, 'Process');
  assert.equal(a.Resource, '/bin/apt update');
  assert.equal(a.ProcessName, '/bin/apt');
  assert.equal(a.ResolvedResource, '/usr/bin/apt');
  assert.equal(a.Source, '/bin/bash');
  assert.equal(a.Data, 'syscall=SYS_EXECVE');
  assert.equal(a.Syscall, 'SYS_EXECVE');
  assert.equal(a.TTY, 'pts0');
  assert.equal(a.Action, 'Audit (Block)');
  assert.equal(a.Result, 'Passed');
  assert.ok(!('Dirfd' in a) && !('ArgsTruncated' in a));
  const failed = renderAlert({ ...EXEC_MATCH, event: { ...EXEC_MATCH.event, kind: 'process', ret: -13, resolvedPath: null, syscall: 'execveat', dirfd: 3, argvTruncated: true } as Match['event'] });
  assert.equal(failed.Result, 'Permission denied');
  assert.equal(failed.Data, 'syscall=SYS_EXECVEAT');
  assert.equal(failed.Dirfd, 3);
  assert.equal(failed.ArgsTruncated, true);
  assert.ok(!('ResolvedResource' in failed));
});

test('the KubeArmor renderer: a network match is the whole KubeArmor network line, in its field order', () => {
  const line = alertLine(netMatch());
  assert.equal(line, `${JSON.stringify({
    Timestamp: 1795885200, UpdatedTime: '2026-11-28T17:00:00.123456789Z', ClusterName: 'default', HostName: 'gke-cluster-1-default-pool-37f4c896-8cn6',
    NamespaceName: 'wordpress-mysql', Owner: { Ref: 'Deployment', Name: 'wordpress', Namespace: 'wordpress-mysql' }, PodName: 'wordpress-7c966b5d85-wvtln',
    Labels: 'app=wordpress', ContainerID: '6d09394a988c5cf6b9fe260d28fdd57d6ff281618869a173965ecd94a3efac44', ContainerName: 'wordpress',
    ContainerImage: 'docker.io/library/wordpress:4.8-apache@sha256:6216f64ab88fc51d311e38c7f69ca3f9aaba621492b4f1fa93ddf63093768845',
    HostPPID: 1275441, HostPID: 1275600, PPID: 342, PID: 360, UID: 33, ParentProcessName: '/bin/bash', ProcessName: '/usr/bin/curl',
    PolicyName: 'ksp-audit-tcp', Severity: '4', Tags: 'NETWORK', ATags: ['NETWORK'], Message: 'TCP from the web tier', Type: 'MatchedPolicy',
    Source: '/usr/bin/curl', Resource: 'remoteip=10.0.0.7 port=5432 protocol=TCP', Operation: 'Network', Action: 'Audit',
    Data: 'syscall=SYS_CONNECT fd=3', Enforcer: 'eBPF Monitor', Result: 'Passed', Cwd: '/var/www/html',
    PolicyKind: 'KubeArmorPolicy', Syscall: 'SYS_CONNECT', TimestampNs: '1795885200123456789',
  })}\n`);
  const sock = renderAlert(netMatch({ syscall: 'socket', fd: -1, ret: 4, remote: null, domain: 2, type: 3, protocol: 1, tty: 'pts1' }, { action: 'Block' }));
  assert.deepEqual([sock.Resource, sock.Data, sock.Action, sock.TTY], ['domain=AF_INET type=SOCK_RAW protocol=ICMP', 'syscall=SYS_SOCKET', 'Audit (Block)', 'pts1']);
  const acc = renderAlert(netMatch({ syscall: 'accept', fd: 7, ret: 8, remote: { family: 'inet6', address: '2001:db8::5', port: 51000 }, local: { family: 'inet6', address: '::', port: 443 }, domain: 10 }));
  assert.deepEqual([acc.Resource, acc.Data], ['remoteip=2001:db8::5 port=51000 protocol=TCP', 'syscall=SYS_ACCEPT fd=7']);
  const lis = renderAlert(netMatch({ syscall: 'listen', fd: 7, remote: null, local: { family: 'inet', address: '0.0.0.0', port: 80 } }, { policyName: 'DefaultPosture', policyKind: 'DefaultPosture', severity: undefined, tags: [], message: undefined }));
  assert.deepEqual([lis.Resource, lis.Data, lis.PolicyName, lis.Severity, 'Tags' in lis], ['localip=0.0.0.0 port=80 protocol=TCP', 'syscall=SYS_LISTEN fd=7', 'DefaultPosture', '', false]);
  // The same match as an OTLP record: the same facts, typed.
  const attrs = recordAttributes(netMatch());
  assert.deepEqual([attrs['network.peer.address'], attrs['network.peer.port'], attrs['network.transport'], attrs['kubearmor.data']], ['10.0.0.7', 5432, 'tcp', 'syscall=SYS_CONNECT fd=3']);
  assert.equal(matchBody(netMatch(), matchText(netMatch())), 'Audit: /usr/bin/curl connected to remoteip=10.0.0.7 port=5432 protocol=TCP — TCP from the web tier [ksp-audit-tcp]');
  assert.equal(recordAttributes(SEED_MATCH)['network.transport'], undefined, 'a file record has no network attributes');
});

test('a syscall-rule match of a file event reads Operation Syscall with the same Data', () => {
  const m: Match = { ...SEED_MATCH, event: { ...SEED_EVENT, syscall: 'unlink', flags: 0 }, decision: { ...SEED_DECISION, operation: 'Syscall' } };
  const a = renderAlert(m);
  assert.equal(a.Operation, 'Syscall');
  assert.equal(a.Data, 'syscall=SYS_UNLINK');
  assert.equal(recordAttributes(m)['kubearmor.operation'], 'Syscall');
});

test('severity 1–10 maps into INFO … FATAL, strictly increasing; no severity is INFO', () => {
  const got = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => toSeverityNumber(n));
  assert.deepEqual(got, [9, 10, 13, 14, 15, 17, 18, 19, 20, 21]);
  for (let i = 1; i < got.length; i++) assert.ok((got[i] as number) > (got[i - 1] as number));
  assert.equal(toSeverityNumber(1), SeverityNumber.INFO);
  assert.equal(toSeverityNumber(10), SeverityNumber.FATAL);
  assert.equal(toSeverityNumber(undefined), SeverityNumber.INFO);
  assert.equal(SEVERITY_TABLE.length, 11);
  const posture = matchRecordFields({ ...SEED_MATCH, decision: { ...SEED_DECISION, policyName: 'DefaultPosture', policyKind: 'DefaultPosture', severity: undefined } }, [0, 0]);
  assert.equal(posture.severityNumber, SeverityNumber.INFO);
  assert.equal(posture.severityText, 'INFO', 'DefaultPosture: the fallback SeverityNumber\'s name');
});

test('the body is one human line; failed calls say what was tried and why it failed', () => {
  const body = (m: Match): string => matchBody(m, matchText(m));
  assert.equal(body(SEED_MATCH), 'Audit: /bin/ls opened /etc/network/if-up.d — Access to network files detected. Possible violation of NIST Controls [ksp-nist-ac-18-1-network-audit]');
  assert.equal(body({ ...SEED_MATCH, event: { ...SEED_EVENT, syscall: 'unlinkat', ret: -13 }, decision: { ...SEED_DECISION, action: 'Block', message: undefined } }),
    'Audit (Block): /bin/ls tried to delete /etc/network/if-up.d (Permission denied) [ksp-nist-ac-18-1-network-audit]');
  assert.equal(body({ ...SEED_MATCH, event: { ...SEED_EVENT, syscall: 'fchownat' }, decision: { ...SEED_DECISION, message: '' } }), 'Audit: /bin/ls changed the owner of /etc/network/if-up.d [ksp-nist-ac-18-1-network-audit]');
  assert.equal(body(EXEC_MATCH), 'Audit (Block): /bin/bash executed /bin/apt update — package manager run [ksp-block-apt]');
});

test('kernel nanoseconds become HrTime without float rounding', () => {
  assert.deepEqual(nsToHrTime(1795885200123456789n), [1795885200, 123456789]);
  assert.deepEqual(nsToHrTime(42n), [0, 42]);
  assert.deepEqual(matchRecordFields(SEED_MATCH, [0, 0]).timestamp, [1795885200, 123456789]);
});

test('container images split into name, tag and repo digest; a registry port is not a tag', () => {
  assert.deepEqual(splitImage('docker.io/library/wordpress:4.8-apache@sha256:abc'),
    { name: 'docker.io/library/wordpress', tags: ['4.8-apache'], repoDigests: ['docker.io/library/wordpress@sha256:abc'] });
  assert.deepEqual(splitImage('localhost:5000/app'), { name: 'localhost:5000/app', tags: [], repoDigests: [] });
  assert.deepEqual(splitImage('localhost:5000/app:v2'), { name: 'localhost:5000/app', tags: ['v2'], repoDigests: [] });
  assert.deepEqual(splitImage('nginx@sha256:def'), { name: 'nginx', tags: [], repoDigests: ['nginx@sha256:def'] });
});

test('retry verdicts: gRPC UNAVAILABLE/DEADLINE_EXCEEDED/RESOURCE_EXHAUSTED, HTTP 429/502/503/504 and connection errors retry', () => {
  const grpc = (code: number) => Object.assign(new Error('x'), { code, details: 'x', metadata: {} });
  const http = (code: number) => Object.assign(new Error('x'), { name: 'OTLPExporterError', code });
  for (const c of [4, 8, 14]) assert.equal(classifyExportError(grpc(c)), 'retryable', `grpc ${c}`);
  for (const c of [3, 7, 12, 16]) assert.equal(classifyExportError(grpc(c)), 'permanent', `grpc ${c}`);
  for (const c of [429, 502, 503, 504]) assert.equal(classifyExportError(http(c)), 'retryable', `http ${c}`);
  for (const c of [400, 401, 404, 413, 500]) assert.equal(classifyExportError(http(c)), 'permanent', `http ${c}`);
  assert.equal(classifyExportError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), 'retryable');
  assert.equal(classifyExportError(new Error('Export failed with retryable status')), 'retryable');
  assert.equal(classifyExportError(new Error('Request timed out')), 'retryable');
  assert.equal(classifyExportError(new Error('certificate has expired')), 'permanent');
});

test('backoff grows exponentially to its cap, jittered within ±50 %', () => {
  assert.equal(backoffDelay(DEFAULT_BACKOFF, 0, () => 0.5), 500);
  assert.equal(backoffDelay(DEFAULT_BACKOFF, 1, () => 0.5), 1000);
  assert.equal(backoffDelay(DEFAULT_BACKOFF, 10, () => 0.5), 5000);
  assert.equal(backoffDelay(DEFAULT_BACKOFF, 0, () => 0), 250);
  assert.equal(backoffDelay(DEFAULT_BACKOFF, 0, () => 1), 750);
});
