// OTLP over HTTP/protobuf and gRPC, plain, TLS and mutual TLS (certificates made here with
// openssl), configured the way users do it: OTEL_EXPORTER_OTLP_* variables and flags, through the
// same parser `armorwatch run` uses. Headers are observed at the Collector (client metadata).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRunConfig } from '../../src/config/parse.ts';
import type { RunConfig } from '../../src/config/types.ts';
import { createAlertExporter } from '../../src/export/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startCollector, type Collector } from '../helpers/collector.ts';
import { SEED_MATCH } from './fixtures.ts';

const HEADER = 'x-armorwatch-test';

function config(env: Record<string, string>, flags: string[] = []): RunConfig {
  const r = parseRunConfig(['--policies', '/nonexistent', ...flags], env);
  assert.equal(r.help, false);
  return r.config;
}

/** Sends one alert through the exporter built from `cfg`; returns the export counters. */
async function sendOne(cfg: RunConfig, pid: number) {
  const exp = createAlertExporter(cfg, silentLogger);
  exp.export({ ...SEED_MATCH, event: { ...SEED_MATCH.event, hostPid: pid } });
  await exp.forceFlush();
  return (await exp.shutdown(5000)).otlp;
}

/** The record with this pid once the Collector has written it (undefined after 10 s). */
async function arrived(c: Collector, pid: number) {
  for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const rec = c.records().find((r) => r.attributes['process.pid'] === pid);
    if (rec !== undefined) return rec;
  }
  return undefined;
}

describe('plain text', () => {
  let c: Collector;
  before(async () => { c = await startCollector({ headers: [HEADER] }); });
  after(async () => { await c.dispose(); });

  test('HTTP/protobuf from OTEL_EXPORTER_OTLP_ENDPOINT (+/v1/logs), PROTOCOL, HEADERS and COMPRESSION', async () => {
    const cfg = config({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${c.httpBase}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_HEADERS: `${HEADER}=from%20env`,
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    assert.equal(cfg.exporter, 'otlp', 'an endpoint switches OTLP on');
    assert.equal(cfg.otlp?.endpoint, `http://${c.httpBase}/v1/logs`);
    const stats = await sendOne(cfg, 1);
    assert.equal(stats?.exported, 1);
    const rec = await arrived(c, 1);
    assert.ok(rec, 'the record arrived over HTTP');
    assert.equal(rec.resource[`test.header.${HEADER}`], 'from env');
  });

  test('gRPC: the LOGS variables win over the generic ones, and the flag over both', async () => {
    const cfg = config({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', // would fail: the LOGS one must win
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `http://${c.grpcAddress}`,
      OTEL_EXPORTER_OTLP_HEADERS: `${HEADER}=generic,x-other=1`,
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: `${HEADER}=logs`,
    });
    assert.deepEqual(cfg.otlp?.headers, { [HEADER]: 'logs', 'x-other': '1' });
    assert.equal((await sendOne(cfg, 2))?.exported, 1);
    assert.equal((await arrived(c, 2))?.resource[`test.header.${HEADER}`], 'logs');

    const flagged = config({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `http://${c.grpcAddress}`, OTEL_EXPORTER_OTLP_LOGS_HEADERS: `${HEADER}=logs` },
      ['--otlp-headers', `${HEADER}=flag`]);
    assert.equal((await sendOne(flagged, 3))?.exported, 1);
    assert.equal((await arrived(c, 3))?.resource[`test.header.${HEADER}`], 'flag');
  });
});

describe('TLS and mutual TLS', () => {
  let dir: string;
  let c: Collector;
  const f = (name: string): string => join(dir, name);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'armorwatch-tls-'));
    const ssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }); };
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=armorwatch test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
    writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
    ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('server.ext'), '-out', f('server.pem'));
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=armorwatch agent', '-keyout', f('client.key'), '-out', f('client.csr'));
    ssl('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-out', f('client.pem'));
    c = await startCollector({ tls: { certFile: f('server.pem'), keyFile: f('server.key'), clientCaFile: f('ca.pem') } });
  });
  after(async () => {
    await c?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const mtlsEnv = (): Record<string, string> => ({
    OTEL_EXPORTER_OTLP_CERTIFICATE: f('ca.pem'),
    OTEL_EXPORTER_OTLP_CLIENT_KEY: f('client.key'),
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: f('client.pem'),
  });

  test('gRPC over mutual TLS with certificates from OTEL_EXPORTER_OTLP_* variables', async () => {
    const cfg = config({ ...mtlsEnv(), OTEL_EXPORTER_OTLP_ENDPOINT: `https://${c.grpcAddress}` });
    assert.equal((await sendOne(cfg, 10))?.exported, 1);
    assert.ok(await arrived(c, 10));
  });

  test('HTTP/protobuf over mutual TLS with certificates from flags', async () => {
    const cfg = config({}, ['--otlp-endpoint', `https://${c.httpBase}`, '--otlp-protocol', 'http/protobuf',
      '--otlp-certificate', f('ca.pem'), '--otlp-client-key', f('client.key'), '--otlp-client-certificate', f('client.pem')]);
    assert.equal((await sendOne(cfg, 11))?.exported, 1);
    assert.ok(await arrived(c, 11));
  });

  test('without a client certificate the Collector refuses, and the record is counted as dropped', async () => {
    const cfg = config({ OTEL_EXPORTER_OTLP_ENDPOINT: `https://${c.grpcAddress}`, OTEL_EXPORTER_OTLP_CERTIFICATE: f('ca.pem') },
      ['--retry-max-elapsed', '1s']);
    const stats = await sendOne(cfg, 12);
    assert.equal(stats?.exported, 0);
    assert.equal((stats?.dropped.retry_exhausted ?? 0) + (stats?.dropped.rejected ?? 0), 1, 'the record is counted, not lost silently');
    assert.equal(c.records().find((r) => r.attributes['process.pid'] === 12), undefined);
  });

  test('a server certificate from an unknown CA is refused', async () => {
    const cfg = config({ OTEL_EXPORTER_OTLP_ENDPOINT: `https://${c.grpcAddress}`, OTEL_EXPORTER_OTLP_CLIENT_KEY: f('client.key'),
      OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: f('client.pem') }, ['--retry-max-elapsed', '1s']);
    const stats = await sendOne(cfg, 13);
    assert.equal(stats?.exported, 0);
    assert.equal(c.records().find((r) => r.attributes['process.pid'] === 13), undefined);
  });
});
