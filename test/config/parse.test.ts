// Configuration: flags > environment > defaults, merged once; bad values name their source.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RUN_OPTIONS, runHelp } from '../../src/config/options.ts';
import { parseRunConfig, type ParseDeps } from '../../src/config/parse.ts';
import type { RunConfig } from '../../src/config/types.ts';
import { UsageError } from '../../src/errors.ts';

const deps: ParseDeps = {
  hostname: () => 'node-a',
  readFile: (p) => {
    if (p.endsWith('.pem') || p.endsWith('.key')) return Buffer.from(`PEM ${p}`);
    throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
  },
};

function parse(argv: string[], env: Record<string, string> = {}): RunConfig {
  const r = parseRunConfig(argv, env, deps);
  assert.equal(r.help, false);
  return r.config;
}

function usage(argv: string[], env: Record<string, string>, message: RegExp): void {
  assert.throws(() => parseRunConfig(argv, env, deps), (err: unknown) => {
    assert.ok(err instanceof UsageError, `UsageError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

const P = ['--policies', '/p'];

test('defaults', () => {
  const c = parse(P);
  assert.deepEqual(c.policies, ['/p']);
  assert.equal(c.nodeName, 'node-a');
  assert.equal(c.clusterName, 'default');
  assert.equal(c.defaultFilePosture, 'audit');
  assert.equal(c.defaultNetworkPosture, 'audit');
  assert.equal(c.exporter, 'stdout', 'no endpoint: alerts go to stdout');
  assert.equal(c.otlp, null);
  assert.deepEqual(c.queue, { maxRecords: 50_000, maxBytes: 32 << 20, batchRecords: 1024, retryMaxElapsedMs: 300_000 });
  assert.equal(c.shutdownDeadlineMs, 25_000);
  assert.equal(c.statsIntervalMs, 60_000);
  assert.deepEqual(c.health, { host: '0.0.0.0', port: 8787 });
  assert.equal(c.serviceName, 'armorwatch');
  assert.equal(c.logLevel, 'info');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.queue) && Object.isFrozen(c.policies) && Object.isFrozen(c.health), 'frozen');
});

test('the environment wins over defaults, flags over the environment', () => {
  const env = {
    ARMORWATCH_POLICIES: '/e1:/e2', NODE_NAME: 'node-env', ARMORWATCH_CLUSTER_NAME: 'env-cluster',
    ARMORWATCH_DEFAULT_FILE_POSTURE: 'block', ARMORWATCH_DEFAULT_NETWORK_POSTURE: 'block', ARMORWATCH_QUEUE_SIZE: '500', ARMORWATCH_QUEUE_BYTES: '1MiB',
    ARMORWATCH_RETRY_MAX_ELAPSED: '0', ARMORWATCH_SHUTDOWN_DEADLINE: '10s', ARMORWATCH_STATS_INTERVAL: '500ms',
    ARMORWATCH_HEALTH_ADDR: '127.0.0.1:9000', OTEL_SERVICE_NAME: 'otel-svc', ARMORWATCH_LOG_LEVEL: 'debug',
  };
  const e = parse([], env);
  assert.deepEqual(e.policies, ['/e1', '/e2']);
  assert.equal(e.nodeName, 'node-env');
  assert.equal(e.clusterName, 'env-cluster');
  assert.equal(e.defaultFilePosture, 'block');
  assert.equal(e.defaultNetworkPosture, 'block');
  assert.deepEqual(e.queue, { maxRecords: 500, maxBytes: 1 << 20, batchRecords: 500, retryMaxElapsedMs: 0 });
  assert.equal(e.shutdownDeadlineMs, 10_000);
  assert.equal(e.statsIntervalMs, 500);
  assert.deepEqual(e.health, { host: '127.0.0.1', port: 9000 });
  assert.equal(e.serviceName, 'otel-svc');
  assert.equal(e.logLevel, 'debug');

  const f = parse(['--policies', '/f1', '--policies=/f2', '--node-name', 'node-flag', '--cluster-name', 'c',
    '--default-file-posture', 'audit', '--default-network-posture', 'audit', '--queue-size', '9', '--queue-bytes', '2KiB', '--retry-max-elapsed', '1m',
    '--shutdown-deadline', '3s', '--stats-interval', '0', '--health-addr', 'off', '--service-name', 'svc', '--log-level', 'warn'], env);
  assert.deepEqual(f.policies, ['/f1', '/f2'], 'repeated --policies, the variable ignored');
  assert.equal(f.nodeName, 'node-flag');
  assert.equal(f.clusterName, 'c');
  assert.equal(f.defaultFilePosture, 'audit');
  assert.equal(f.defaultNetworkPosture, 'audit');
  assert.deepEqual(f.queue, { maxRecords: 9, maxBytes: 2048, batchRecords: 9, retryMaxElapsedMs: 60_000 });
  assert.equal(f.shutdownDeadlineMs, 3000);
  assert.equal(f.statsIntervalMs, 0);
  assert.equal(f.health, null);
  assert.equal(f.serviceName, 'svc');
  assert.equal(f.logLevel, 'warn');
});

test('ARMORWATCH_NODE_NAME wins over NODE_NAME; ARMORWATCH_SERVICE_NAME over OTEL_SERVICE_NAME', () => {
  const c = parse(P, { NODE_NAME: 'a', ARMORWATCH_NODE_NAME: 'b', OTEL_SERVICE_NAME: 'x', ARMORWATCH_SERVICE_NAME: 'y' });
  assert.equal(c.nodeName, 'b');
  assert.equal(c.serviceName, 'y');
});

test('OTLP: endpoint switches the exporter on; protocol, insecure, headers, compression, timeout, certificates', () => {
  const g = parse(P, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317', OTEL_EXPORTER_OTLP_INSECURE: 'TRUE', OTEL_EXPORTER_OTLP_TIMEOUT: '1500' });
  assert.equal(g.exporter, 'otlp');
  assert.deepEqual(g.otlp, { endpoint: 'http://collector:4317', protocol: 'grpc', insecure: true, headers: {}, compression: 'none', timeoutMs: 1500 });
  assert.equal(parse(P, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }).otlp?.endpoint, 'https://collector:4317', 'TLS unless insecure');

  const h = parse([...P, '--otlp-protocol', 'http/protobuf', '--otlp-endpoint', 'https://loki:3100', '--otlp-timeout', '2s',
    '--otlp-compression', 'gzip', '--otlp-certificate', '/ca.pem', '--exporter', 'both'], {});
  assert.equal(h.exporter, 'both');
  assert.equal(h.otlp?.endpoint, 'https://loki:3100/v1/logs', 'a flag without a path gets /v1/logs');
  assert.equal(h.otlp?.timeoutMs, 2000);
  assert.equal(h.otlp?.compression, 'gzip');
  assert.equal(h.otlp?.certificate?.toString(), 'PEM /ca.pem');
  assert.equal(parse(P, { OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://x:4318/custom' }).otlp?.endpoint,
    'http://x:4318/custom', 'the LOGS endpoint is used as it is');
  assert.equal(parse(P, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318/base/' }).otlp?.endpoint,
    'http://x:4318/base/v1/logs', 'the generic endpoint is a base URL');
  assert.equal(parse([...P, '--exporter', 'otlp']).otlp?.endpoint, 'http://localhost:4317', 'the spec default when forced on');

  const m = parse(P, { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c:4317', OTEL_EXPORTER_OTLP_CLIENT_KEY: '/k.key', OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE: '/c.pem' });
  assert.equal(m.otlp?.clientKey?.toString(), 'PEM /k.key');
  assert.equal(m.otlp?.clientCertificate?.toString(), 'PEM /c.pem');
  assert.equal(parse(['--exporter', 'stdout', ...P], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }).otlp, null, 'stdout ignores OTLP settings');
});

test('bad values: a UsageError naming the flag or variable and the value', () => {
  usage([], {}, /no policies given: use --policies DIR/);
  usage([...P, '--queue-size', 'lots'], {}, /^--queue-size: invalid value "lots": expected a whole number greater than 0$/);
  usage(P, { ARMORWATCH_QUEUE_SIZE: '0' }, /^ARMORWATCH_QUEUE_SIZE: invalid value "0"/);
  usage(P, { ARMORWATCH_QUEUE_BYTES: '12 parsecs' }, /^ARMORWATCH_QUEUE_BYTES: invalid value "12 parsecs": expected a size/);
  usage([...P, '--shutdown-deadline', '25'], {}, /^--shutdown-deadline: invalid value "25": expected a duration with a unit/);
  usage([...P, '--exporter', 'kafka'], {}, /^--exporter: invalid value "kafka": expected one of otlp, stdout, both$/);
  usage(P, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, /^OTEL_EXPORTER_OTLP_PROTOCOL: invalid value "http\/json": http\/json is not supported/);
  usage(P, { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://c:4317' }, /^OTEL_EXPORTER_OTLP_ENDPOINT: invalid value "ftp:\/\/c:4317"/);
  usage(P, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317/v1/logs' }, /a gRPC endpoint has no path/);
  usage(P, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, /^OTEL_EXPORTER_OTLP_HEADERS: invalid value \(not shown: header values are secret\): entry 1 of 1 is not key=value$/);
  usage(P, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }, /^OTEL_EXPORTER_OTLP_TIMEOUT: invalid value "soon": expected milliseconds/);
  usage(P, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_INSECURE: 'yes' }, /^OTEL_EXPORTER_OTLP_INSECURE: invalid value "yes": expected true or false/);
  usage([...P, '--otlp-endpoint', 'https://c:4317', '--otlp-certificate', '/missing.crt'], {}, /^--otlp-certificate: invalid value "\/missing.crt": cannot read the file \(ENOENT\)/);
  usage([...P, '--otlp-endpoint', 'https://c:4317', '--otlp-client-key', '/k.key'], {}, /^--otlp-client-key: mutual TLS needs both/);
  usage([...P, '--health-addr', 'localhost'], {}, /^--health-addr: invalid value "localhost": expected HOST:PORT/);
  usage([...P, '--log-level', 'loud'], {}, /^--log-level: invalid value "loud"/);
  usage([...P, '--queue-size', '10', '--batch-size', '20'], {}, /^--batch-size: invalid value "20": the batch size \(20\) cannot exceed the queue size \(10\)/);
  usage([...P, '--frobnicate'], {}, /^unknown option --frobnicate/);
  usage([...P, 'extra'], {}, /^unexpected argument "extra"/);
  usage(['--policies'], {}, /^--policies needs a value: DIR$/);
});

test('--help lists every flag with its variables and default, from the parser\'s own table', () => {
  assert.deepEqual(parseRunConfig(['--help'], {}, deps), { help: true });
  assert.deepEqual(parseRunConfig(['--queue-size', 'x', '-h'], {}, deps), { help: true }, 'help wins over bad values');
  const help = runHelp();
  for (const o of RUN_OPTIONS) {
    assert.match(help, new RegExp(`^  --${o.name}\\b`, 'm'), `--${o.name} listed`);
    for (const v of o.env) assert.ok(help.includes(v), `${v} listed`);
    if (o.default !== '') assert.ok(help.includes(`default: ${o.default}`), `default of --${o.name}`);
  }
  // Every option the parser accepts is in the table (an unknown one is rejected).
  for (const o of RUN_OPTIONS.filter((x) => x.name !== 'help')) {
    const arg = o.arg === undefined ? [`--${o.name}`] : [`--${o.name}=x`];
    try { parseRunConfig([...P, ...arg], {}, deps); } catch (err) { assert.doesNotMatch((err as Error).message, /unknown option/); }
  }
});

test('--kubeconfig and KUBECONFIG: the flag wins; an unreadable file names its source; unset means none', () => {
  const kdeps: ParseDeps = { ...deps, readFile: (p) => (p.startsWith('/kube/') ? Buffer.from('apiVersion: v1\n') : deps.readFile(p)) };
  const kubeconfig = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseRunConfig([...P, ...argv], env, kdeps);
    assert.equal(r.help, false);
    return r.config.kubeconfig;
  };
  assert.equal(kubeconfig([]), undefined);
  assert.equal(kubeconfig([], { KUBECONFIG: '/kube/env' }), '/kube/env');
  assert.equal(kubeconfig(['--kubeconfig', '/kube/flag'], { KUBECONFIG: '/kube/env' }), '/kube/flag');
  usage([...P, '--kubeconfig', '/nope'], {}, /^--kubeconfig: invalid value "\/nope": cannot read the file \(ENOENT\)/);
  usage(P, { KUBECONFIG: '/nope' }, /^KUBECONFIG: invalid value "\/nope"/);
});

test('--ring-buffer-size and ARMORWATCH_RING_BUFFER_SIZE: 4MiB by default, rounded up to a power of two, bounded', () => {
  assert.equal(parse(P).ringBufferBytes, 4 << 20);
  assert.equal(parse([...P, '--ring-buffer-size', '3MiB']).ringBufferBytes, 4 << 20);
  assert.equal(parse([...P, '--ring-buffer-size', '16MiB']).ringBufferBytes, 16 << 20);
  assert.equal(parse(P, { ARMORWATCH_RING_BUFFER_SIZE: '300KiB' }).ringBufferBytes, 512 << 10);
  assert.equal(parse([...P, '--ring-buffer-size=1MiB'], { ARMORWATCH_RING_BUFFER_SIZE: '64MiB' }).ringBufferBytes, 1 << 20);
  usage([...P, '--ring-buffer-size', '64KiB'], {}, /^--ring-buffer-size: invalid value "64KiB": expected a size from 256KiB to 1GiB/);
  usage(P, { ARMORWATCH_RING_BUFFER_SIZE: 'big' }, /^ARMORWATCH_RING_BUFFER_SIZE: invalid value "big"/);
});

test('alert throttling: on by default (10 alerts/s, 30 s), set by flag or variable, 0 in either turns it off', () => {
  assert.deepEqual(parse(P).throttle, { maxAlertsPerSec: 10, throttleSec: 30 });
  assert.deepEqual(parse([...P, '--max-alerts-per-sec', '3'], { ARMORWATCH_THROTTLE_SEC: '5' }).throttle, { maxAlertsPerSec: 3, throttleSec: 5 });
  assert.deepEqual(parse([...P, '--throttle-sec=7'], { ARMORWATCH_THROTTLE_SEC: '5', ARMORWATCH_MAX_ALERTS_PER_SEC: '4' }).throttle, { maxAlertsPerSec: 4, throttleSec: 7 });
  assert.equal(parse([...P, '--max-alerts-per-sec', '0']).throttle, null);
  assert.equal(parse(P, { ARMORWATCH_THROTTLE_SEC: '0' }).throttle, null);
  usage([...P, '--max-alerts-per-sec', '-1'], {}, /^--max-alerts-per-sec: invalid value "-1": expected a whole number, 0 or more/);
  usage(P, { ARMORWATCH_THROTTLE_SEC: '2.5' }, /^ARMORWATCH_THROTTLE_SEC: invalid value "2.5"/);
});

test('metrics: Prometheus on the health address by default; OTLP push where the alerts go, or elsewhere', () => {
  const d = parse(P);
  assert.deepEqual(d.metrics, { prometheus: true, otlp: null, intervalMs: 60_000 });
  assert.ok(Object.isFrozen(d.metrics));
  assert.equal(parse([...P, '--health-addr', 'off']).metrics.prometheus, false, 'no health server, nothing to serve /metrics on');
  assert.deepEqual(parse([...P, '--metrics-exporter', 'none']).metrics, { prometheus: false, otlp: null, intervalMs: 60_000 });

  const grpc = parse(P, { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_METRIC_EXPORT_INTERVAL: '15000' }).metrics;
  assert.equal(grpc.prometheus, false);
  assert.equal(grpc.otlp?.endpoint, 'http://c:4317');
  assert.equal(grpc.intervalMs, 15_000, 'OTEL_METRIC_EXPORT_INTERVAL is in milliseconds');
  // Alerts to stdout, metrics pushed: the OTLP settings are read for the metrics alone.
  const stdoutAlerts = parse([...P, '--exporter', 'stdout', '--metrics-exporter', 'prometheus,otlp', '--otlp-endpoint', 'http://c:4317', '--otlp-headers', 'x-key=1']);
  assert.equal(stdoutAlerts.otlp, null);
  assert.equal(stdoutAlerts.metrics.otlp?.endpoint, 'http://c:4317');
  assert.deepEqual(stdoutAlerts.metrics.otlp?.headers, { 'x-key': '1' });
  assert.equal(stdoutAlerts.metrics.prometheus, true);

  const http = (env: Record<string, string>, argv: string[] = []): string | undefined =>
    parse([...P, '--metrics-exporter', 'otlp', ...argv], { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', ...env }).metrics.otlp?.endpoint;
  assert.equal(http({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), 'http://c:4318/v1/metrics');
  assert.equal(http({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/otlp' }), 'http://c:4318/otlp/v1/metrics', 'a base URL with a path keeps it');
  assert.equal(http({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://c:4318/custom/logs' }), 'http://c:4318/v1/metrics');
  assert.equal(http({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4318/m' }), 'http://m:4318/m');
  assert.equal(http({}, ['--metrics-otlp-endpoint', 'http://m:4318']), 'http://m:4318/v1/metrics');
  assert.equal(parse([...P, '--metrics-exporter', 'otlp', '--metrics-otlp-endpoint', 'm:4317', '--otlp-insecure']).metrics.otlp?.endpoint, 'http://m:4317');
});

test('metrics: settings that would be ignored are refused', () => {
  usage([...P, '--metrics-exporter', 'statsd'], {}, /^--metrics-exporter: invalid value "statsd": expected one of prometheus, otlp$/);
  usage([...P, '--metrics-exporter', 'none,otlp'], {}, /^--metrics-exporter: invalid value "none,otlp"/);
  usage([...P, '--metrics-otlp-endpoint', 'http://m:4317'], {}, /^--metrics-otlp-endpoint: invalid value "http:\/\/m:4317": metrics are not pushed over OTLP: add otlp to --metrics-exporter$/);
  usage(P, { ARMORWATCH_METRICS_INTERVAL: '10s' }, /^ARMORWATCH_METRICS_INTERVAL: .*add otlp to --metrics-exporter/);
  usage([...P, '--metrics-exporter', 'prometheus', '--health-addr', 'off'], {}, /^--metrics-exporter: .*health address, which is off/);
  usage([...P, '--metrics-exporter', 'otlp', '--metrics-interval', '0'], {}, /^--metrics-interval: invalid value "0": expected an interval greater than 0$/);
  usage([...P, '--metrics-exporter', 'otlp', '--otlp-protocol', 'grpc', '--metrics-otlp-endpoint', 'http://m:4317/v1/metrics'], {}, /a gRPC endpoint has no path/);
  // The generic OTel variables may be set for every process of the pod: no error for those.
  assert.equal(parse(P, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4317', OTEL_METRIC_EXPORT_INTERVAL: '1000' }).metrics.otlp, null);
});

test('resource attributes: OTEL_RESOURCE_ATTRIBUTES, then ARMORWATCH_RESOURCE_ATTRIBUTES, then the flags; bad entries name their source', () => {
  assert.deepEqual(parse(P).resourceAttributes, {});
  assert.deepEqual(parse([...P, '--resource-attributes', 'a=3', '--resource-attributes', 'c=%20x'],
    { OTEL_RESOURCE_ATTRIBUTES: 'a=1,b=1', ARMORWATCH_RESOURCE_ATTRIBUTES: 'a=2,Team.Name=x' }).resourceAttributes,
  { a: '3', b: '1', 'Team.Name': 'x', c: ' x' });
  assert.ok(Object.isFrozen(parse(P).resourceAttributes));
  usage(P, { OTEL_RESOURCE_ATTRIBUTES: 'novalue' }, /^OTEL_RESOURCE_ATTRIBUTES: invalid value "novalue": "novalue" is not key=value$/);
  usage([...P, '--resource-attributes', 'a=%zz'], {}, /^--resource-attributes: invalid value "a=%zz": the value of "a" is not valid URL encoding$/);
});

test('the Datadog options: all off by default; flags win over the variables; a bad tag or source names its option', () => {
  assert.equal(parse(P).datadog, null);
  assert.deepEqual(parse([...P, '--datadog-attributes']).datadog, { tags: [], attributes: true });
  const env = { ARMORWATCH_DATADOG_SOURCE: 'kubearmor', ARMORWATCH_DATADOG_TAGS: 'team:security, env:prod', ARMORWATCH_DATADOG_ATTRIBUTES: 'true' };
  assert.deepEqual(parse(P, env).datadog, { source: 'kubearmor', tags: ['team:security', 'env:prod'], attributes: true });
  assert.deepEqual(parse([...P, '--datadog-source', 'armorwatch', '--datadog-tags', 'owner:sec', '--datadog-attributes=false'], env).datadog,
    { source: 'armorwatch', tags: ['owner:sec'], attributes: false });
  assert.ok(Object.isFrozen(parse(P, env).datadog) && Object.isFrozen(parse(P, env).datadog?.tags));
  usage([...P, '--datadog-tags', 'team:security,,env:prod'], {}, /^--datadog-tags: invalid value "team:security,,env:prod": "" is not a Datadog tag/);
  usage(P, { ARMORWATCH_DATADOG_TAGS: '1team:x' }, /^ARMORWATCH_DATADOG_TAGS: invalid value "1team:x": "1team:x" is not a Datadog tag/);
  usage(P, { ARMORWATCH_DATADOG_TAGS: 'team:a b' }, /"team:a b" is not a Datadog tag/);
  usage([...P, '--datadog-source', 'kube armor'], {}, /^--datadog-source: invalid value "kube armor": expected a source name/);
  usage(P, { ARMORWATCH_DATADOG_ATTRIBUTES: 'sometimes' }, /^ARMORWATCH_DATADOG_ATTRIBUTES: invalid value "sometimes"/);
});

test('--event-name-attribute and ARMORWATCH_EVENT_NAME_ATTRIBUTE: off by default, the flag wins, a bad value is a UsageError', () => {
  assert.equal(parse(P).eventNameAttribute, false);
  assert.equal(parse([...P, '--event-name-attribute']).eventNameAttribute, true);
  assert.equal(parse(P, { ARMORWATCH_EVENT_NAME_ATTRIBUTE: 'true' }).eventNameAttribute, true);
  assert.equal(parse([...P, '--event-name-attribute=false'], { ARMORWATCH_EVENT_NAME_ATTRIBUTE: 'true' }).eventNameAttribute, false);
  usage(P, { ARMORWATCH_EVENT_NAME_ATTRIBUTE: 'yes please' }, /^ARMORWATCH_EVENT_NAME_ATTRIBUTE: invalid value "yes please"/);
});
