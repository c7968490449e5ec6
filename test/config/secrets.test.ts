// Secrets in the configuration (header values, user:password in endpoints) never appear in what
// the agent prints: usage errors, log lines at any level, the errors main prints.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { parseRunConfig } from '../../src/config/parse.ts';
import { clearSecrets, redactText } from '../../src/config/redact.ts';
import { plainTextHeadersWarning } from '../../src/cli/run.ts';
import { createLogger } from '../../src/log.ts';
import { REPO_ROOT } from '../policy/shared-dir.ts';

const KEY = 'sk-live-9f8e7d6c5b4a';
const P = ['--policies', '/p'];

function usageMessage(argv: string[], env: Record<string, string>): string {
  try {
    parseRunConfig(argv, env);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected a usage error');
}

test('a malformed header list never shows a value, only its position and header name', () => {
  const cases: Array<[Record<string, string>, string[]]> = [
    [{ OTEL_EXPORTER_OTLP_HEADERS: `api-key ${KEY}` }, []],
    [{ OTEL_EXPORTER_OTLP_HEADERS: `x-ok=1,${KEY}` }, []],
    [{ OTEL_EXPORTER_OTLP_LOGS_HEADERS: `bad key=${KEY}` }, []],
    [{ OTEL_EXPORTER_OTLP_HEADERS: `api-key=${KEY}%zz` }, []],
    [{}, ['--otlp-headers', `Authorization Bearer ${KEY}`]],
  ];
  for (const [env, flags] of cases) {
    const msg = usageMessage([...P, ...flags], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', ...env });
    assert.ok(!msg.includes(KEY) && !msg.includes('9f8e7d'), msg);
    assert.match(msg, /invalid value \(not shown: header values are secret\): (entry \d of \d|the value of "api-key")/);
  }
});

test('user:password in an endpoint is not shown in usage errors', () => {
  const msg = usageMessage(P, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://admin:${KEY}@c:4317/v1/logs` });
  assert.match(msg, /^OTEL_EXPORTER_OTLP_ENDPOINT: invalid value "http:\/\/\[REDACTED\]@c:4317\/v1\/logs": a gRPC endpoint has no path/);
  const ftp = usageMessage(P, { OTEL_EXPORTER_OTLP_ENDPOINT: `ftp://admin:${KEY}@c:4317` });
  assert.ok(!ftp.includes(KEY), ftp);
});

test('log lines at every level are redacted: header values (raw, JSON-escaped, URL-encoded) and userinfo', () => {
  clearSecrets();
  const cfg = parseRunConfig([...P, '--otlp-headers', `authorization=Bearer%20${KEY}`], { OTEL_EXPORTER_OTLP_ENDPOINT: `http://user:${KEY}@collector:4317` });
  assert.equal(cfg.help, false);
  let out = '';
  const sink = new Writable({ write(chunk, _enc, cb) { out += String(chunk); cb(); } });
  const log = createLogger('trace', sink as never);
  log.trace({ headers: { authorization: `Bearer ${KEY}` } }, 'trace');
  log.debug(`request to https://user:${KEY}@collector:4318/v1/logs failed`);
  log.info({ err: new Error(`14 UNAVAILABLE: user:${KEY}@collector:4317 unreachable`) }, 'info');
  log.warn({ v: `"${KEY}"` }, 'warn');
  log.error({ q: `a=${encodeURIComponent(`Bearer ${KEY}`)}` }, 'error');
  log.fatal(`Bearer ${KEY}`);
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 6);
  assert.ok(!out.includes(KEY) && !out.includes('9f8e7d6c'), out);
  assert.equal((out.match(/\[REDACTED\]/g) ?? []).length >= 6, true, out);
  assert.ok(out.includes('collector:4318'), 'the host stays visible');
  clearSecrets();
});

test('the text main prints for a failed start is redacted too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-secrets-'));
  try {
    const main = join(REPO_ROOT, 'src/cli/main.ts');
    const r = spawnSync(process.execPath, [main, 'run', '--policies', dir, '--otlp-headers', `x-api-key=${KEY},oops`,
      '--otlp-endpoint', `http://u:${KEY}@c:4317`], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.ok(!r.stderr.includes(KEY) && !r.stdout.includes(KEY), r.stderr);
    assert.match(r.stderr, /--otlp-headers: invalid value \(not shown: header values are secret\): entry 2 of 2 is not key=value/);
    const env = spawnSync(process.execPath, [main, 'run', '--policies', dir], { encoding: 'utf8',
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_HEADERS: `garbage ${KEY}` } });
    assert.equal(env.status, 2);
    // The agent's start-up failure: one JSON `fatal` line for log pipelines, then the plain text.
    const [json, plain, ...rest] = env.stderr.split('\n');
    assert.deepEqual([plain, rest], ['armorwatch: OTEL_EXPORTER_OTLP_HEADERS: invalid value (not shown: header values are secret): entry 1 of 1 is not key=value', ['']]);
    assert.deepEqual((({ level, code, msg }) => ({ level, code, msg }))(JSON.parse(json ?? '') as Record<string, unknown>),
      { level: 'fatal', code: 'AW_USAGE', msg: 'OTEL_EXPORTER_OTLP_HEADERS: invalid value (not shown: header values are secret): entry 1 of 1 is not key=value' });
    const help = spawnSync(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'run', '--help'], { encoding: 'utf8',
      env: { ...process.env, OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${KEY}`, OTEL_EXPORTER_OTLP_ENDPOINT: `http://u:${KEY}@c:4317` } });
    assert.equal(help.status, 0);
    assert.ok(!help.stdout.includes(KEY) && !help.stderr.includes(KEY));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('headers over plain http:// to another host are warned about; loopback and https are not', () => {
  const otlp = (endpoint: string, headers: Record<string, string> = { 'x-api-key': 'k' }) => ({ endpoint, protocol: 'grpc' as const, insecure: false, headers, compression: 'none' as const, timeoutMs: 1000 });
  assert.match(plainTextHeadersWarning(otlp('http://collector.example:4317')) ?? '', /OTLP headers \(x-api-key\) are sent in plain text to collector\.example:4317/);
  assert.equal(plainTextHeadersWarning(otlp('https://collector.example:4317')), null);
  assert.equal(plainTextHeadersWarning(otlp('http://127.0.0.1:4317')), null);
  assert.equal(plainTextHeadersWarning(otlp('http://localhost:4318/v1/logs')), null);
  assert.equal(plainTextHeadersWarning(otlp('http://[::1]:4317')), null);
  assert.equal(plainTextHeadersWarning(otlp('http://collector.example:4317', {})), null);
  assert.equal(plainTextHeadersWarning(null), null);
});

test('redactText leaves ordinary text alone', () => {
  clearSecrets();
  for (const s of ['policies loaded', 'http://collector:4317', '/etc/passwd', 'a: b', 'time 12:30', 'user@example.com']) assert.equal(redactText(s), s);
});
