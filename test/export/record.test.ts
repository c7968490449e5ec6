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
import { EXEC_MATCH, HOST_MATCH, SEED_ALERT, SEED_DECISION, SEED_EVENT, SEED_MATCH } from './fixtures.ts';

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
