// Fault suite: a wrong TLS CA (the Collector's certificate is not trusted) is a configuration
// error, not an outage: it is not retried for minutes, it is logged once and clearly, and every
// record is counted. Real Collector with TLS, certificates made here with openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { parseRunConfig } from '../../src/config/parse.ts';
import { createAlertExporter } from '../../src/export/index.ts';
import { startCollector, type Collector } from '../helpers/collector.ts';
import { SEED_MATCH } from '../export/fixtures.ts';

describe('a server certificate the agent does not trust', () => {
  let dir: string;
  let c: Collector;
  const f = (name: string): string => join(dir, name);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'armorwatch-badca-'));
    const ssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }); };
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=server CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=some other CA', '-keyout', f('other.key'), '-out', f('other.pem'));
    writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
    ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('server.ext'), '-out', f('server.pem'));
    c = await startCollector({ tls: { certFile: f('server.pem'), keyFile: f('server.key') } });
  });
  after(async () => {
    await c?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const protocol of ['grpc', 'http/protobuf'] as const) {
    test(`${protocol}: not retried (default 5 min retry budget), counted as rejected, logged once`, async () => {
      const endpoint = protocol === 'grpc' ? `https://${c.grpcAddress}` : `https://${c.httpBase}`;
      const r = parseRunConfig(['--policies', '/p', '--otlp-endpoint', endpoint, '--otlp-protocol', protocol, '--otlp-certificate', f('other.pem'), '--batch-size', '1']);
      assert.equal(r.help, false);
      const logs: Array<Record<string, unknown>> = [];
      const log = pino({ level: 'debug' }, { write: (s: string) => { logs.push(JSON.parse(s) as Record<string, unknown>); } });
      const exp = createAlertExporter(r.config, log);
      const started = Date.now();
      for (let pid = 1; pid <= 3; pid++) {
        exp.export({ ...SEED_MATCH, event: { ...SEED_MATCH.event, hostPid: pid } });
        await exp.forceFlush();
      }
      const took = Date.now() - started;
      const stats = (await exp.shutdown(5000)).otlp!;
      assert.equal(stats.exported, 0);
      assert.equal(stats.dropped.rejected, 3, JSON.stringify(stats));
      assert.equal(stats.retried, 0, 'a certificate error is not retried');
      assert.equal(stats.certificateErrors, 3);
      assert.ok(took < 60_000, `gave up after ${took} ms`);
      const errors = logs.filter((l) => (l.level as number) >= 40);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(String(errors[0]!.msg), /TLS certificate .*not trusted|certificate/i);
      assert.match(String(errors[0]!.msg), /--otlp-certificate/);
    });
  }
});
