// The pieces of the mapping that need no Collector: severity table, body line, image split, retry verdicts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeverityNumber } from '@opentelemetry/api';
import { alertBody, nsToHrTime } from '../../src/export/record.ts';
import { parseLabels, splitImage } from '../../src/export/resource.ts';
import { backoffDelay, classifyExportError, DEFAULT_BACKOFF } from '../../src/export/retry.ts';
import { SEVERITY_TABLE, toSeverityNumber } from '../../src/export/severity.ts';
import { SEED_ALERT } from './fixtures.ts';

test('severity 1–10 maps into INFO … FATAL, strictly increasing; anything else is INFO', () => {
  const got = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => toSeverityNumber(String(n)));
  assert.deepEqual(got, [9, 10, 13, 14, 15, 17, 18, 19, 20, 21]);
  for (let i = 1; i < got.length; i++) assert.ok((got[i] as number) > (got[i - 1] as number));
  assert.equal(toSeverityNumber('1'), SeverityNumber.INFO);
  assert.equal(toSeverityNumber('10'), SeverityNumber.FATAL);
  for (const odd of ['', '0', '11', 'high', '2.5', undefined]) assert.equal(toSeverityNumber(odd), SeverityNumber.INFO, String(odd));
  assert.equal(SEVERITY_TABLE.length, 11);
});

test('the body is one human line; failed calls say what was tried and why it failed', () => {
  assert.equal(alertBody(SEED_ALERT), 'Audit: /bin/ls opened /etc/network/if-up.d — Access to network files detected. Possible violation of NIST Controls [ksp-nist-ac-18-1-network-audit]');
  assert.equal(alertBody({ ...SEED_ALERT, Syscall: 'SYS_UNLINKAT', Action: 'Audit (Block)', Result: 'Permission denied', Message: undefined }),
    'Audit (Block): /bin/ls tried to delete /etc/network/if-up.d (Permission denied) [ksp-nist-ac-18-1-network-audit]');
  assert.equal(alertBody({ ...SEED_ALERT, Syscall: 'SYS_FCHOWNAT', Message: '' }), 'Audit: /bin/ls changed the owner of /etc/network/if-up.d [ksp-nist-ac-18-1-network-audit]');
});

test('nanosecond strings become HrTime without float rounding', () => {
  assert.deepEqual(nsToHrTime('1795885200123456789'), [1795885200, 123456789]);
  assert.deepEqual(nsToHrTime('42'), [0, 42]);
  assert.equal(nsToHrTime('12a'), undefined);
});

test('container images split into name, tag and repo digest; a registry port is not a tag', () => {
  assert.deepEqual(splitImage('docker.io/library/wordpress:4.8-apache@sha256:abc'),
    { name: 'docker.io/library/wordpress', tags: ['4.8-apache'], repoDigests: ['docker.io/library/wordpress@sha256:abc'] });
  assert.deepEqual(splitImage('localhost:5000/app'), { name: 'localhost:5000/app', tags: [], repoDigests: [] });
  assert.deepEqual(splitImage('localhost:5000/app:v2'), { name: 'localhost:5000/app', tags: ['v2'], repoDigests: [] });
  assert.deepEqual(splitImage('nginx@sha256:def'), { name: 'nginx', tags: [], repoDigests: ['nginx@sha256:def'] });
  assert.deepEqual(parseLabels('app=wordpress,tier=web'), { app: 'wordpress', tier: 'web' });
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
