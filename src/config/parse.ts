// Flags, then environment, then defaults → one frozen RunConfig. Every bad value is a UsageError
// naming the flag or variable it came from (exit status 2).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { UsageError } from '../errors.ts';
import { RUN_OPTIONS, type OptionSpec } from './options.ts';
import type { ExporterMode, HealthAddr, MetricsConfig, OtlpConfig, OtlpProtocol, RunConfig } from './types.ts';
import { bool, duration, headers, hostPort, keyValues, oneOf, nonNegativeInt, positiveInt, size, url, bad, type Raw } from './values.ts';
import { KERNEL_FILTER_CAPACITY_DEFAULT } from '../monitor/filter.ts';
import { SOURCE_NAME, STATIC_TAG, type DatadogSettings } from '../export/datadog.ts';
import { parseScan } from './scan.ts';

export interface ParseDeps {
  readonly hostname: () => string;
  readonly readFile: (path: string) => Buffer;
}

const DEFAULT_DEPS: ParseDeps = { hostname, readFile: (p) => readFileSync(p) };

export type ParseResult = { readonly help: true } | { readonly help: false; readonly config: RunConfig };

const BY_NAME = new Map(RUN_OPTIONS.map((o) => [o.name, o]));

/** Flag values by option name, in command-line order. */
function scanArgv(argv: readonly string[]): Map<string, Raw[]> {
  const out = new Map<string, Raw[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') { out.set('help', [{ value: 'true', source: '-h' }]); continue; }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" (see armorwatch run --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = BY_NAME.get(name);
    if (spec === undefined) throw new UsageError(`unknown option --${name} (see armorwatch run --help)`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (spec.arg === undefined) value = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value: ${spec.arg}`);
      value = next;
      i++;
    }
    const list = out.get(name) ?? [];
    list.push({ value, source: `--${name}` });
    out.set(name, list);
  }
  return out;
}

class Sources {
  readonly #flags: Map<string, Raw[]>;
  readonly #env: NodeJS.ProcessEnv;
  constructor(flags: Map<string, Raw[]>, env: NodeJS.ProcessEnv) {
    this.#flags = flags;
    this.#env = env;
  }

  /** The winning value: the last flag, else the first environment variable set (non-empty). */
  get(name: string): Raw | undefined {
    const flags = this.#flags.get(name);
    if (flags !== undefined && flags.length > 0) return flags[flags.length - 1];
    return this.envValues(name)[0];
  }

  flagValues(name: string): Raw[] {
    return this.#flags.get(name) ?? [];
  }

  /** Every variable of the option that is set, in precedence order. */
  envValues(name: string): Raw[] {
    const spec = BY_NAME.get(name) as OptionSpec;
    const out: Raw[] = [];
    for (const v of spec.env) {
      const value = this.#env[v];
      if (value !== undefined && value.trim() !== '') out.push({ value, source: v });
    }
    return out;
  }
}

/** Reads the file an option names; an unreadable one is a usage error naming the option. */
function readFileOption(raw: Raw | undefined, deps: ParseDeps): Buffer | undefined {
  if (raw === undefined) return undefined;
  try {
    return deps.readFile(raw.value.trim());
  } catch (err) {
    throw bad(raw, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Resolves the OTLP endpoint the way the OTel spec describes, plus scheme-less gRPC endpoints. */
function otlpEndpoint(raw: Raw | undefined, protocol: OtlpProtocol, insecure: boolean): string {
  if (raw === undefined) return protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318/v1/logs';
  let value = raw.value.trim();
  if (protocol === 'grpc' && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(value)) value = `${insecure ? 'http' : 'https'}://${value}`;
  const u = url({ value, source: raw.source });
  if (protocol === 'grpc') {
    if (u.pathname !== '/' && u.pathname !== '') throw bad(raw, 'a gRPC endpoint has no path (scheme://host:port)');
    return `${u.protocol}//${u.host}`;
  }
  // The generic variable is a base URL; the LOGS variable and the flag are complete unless they have no path.
  if (raw.source === 'OTEL_EXPORTER_OTLP_ENDPOINT') return `${u.href.replace(/\/$/, '')}/v1/logs`;
  if (u.pathname === '/' || u.pathname === '') return `${u.origin}/v1/logs${u.search}`;
  return u.href;
}

function parseOtlp(src: Sources, deps: ParseDeps): OtlpConfig {
  const p = src.get('otlp-protocol');
  if (p !== undefined && p.value.trim() === 'http/json') throw bad(p, 'http/json is not supported; use grpc or http/protobuf');
  const protocol: OtlpProtocol = p === undefined ? 'grpc' : oneOf(p, ['grpc', 'http/protobuf'] as const);
  const ins = src.get('otlp-insecure');
  const insecure = ins === undefined ? false : bool(ins);
  const endpoint = otlpEndpoint(src.get('otlp-endpoint'), protocol, insecure);
  // Headers merge: the generic variable, then the LOGS one, then the flags, later ones winning per key.
  const merged: Record<string, string> = {};
  for (const raw of [...src.envValues('otlp-headers').reverse(), ...src.flagValues('otlp-headers')]) Object.assign(merged, headers(raw));
  const comp = src.get('otlp-compression');
  const t = src.get('otlp-timeout');
  const timeoutMs = t === undefined ? 10_000 : duration(t, t.source.startsWith('OTEL_'));
  if (timeoutMs <= 0 && t !== undefined) throw bad(t, 'expected a timeout greater than 0');
  const keyRaw = src.get('otlp-client-key');
  const certRaw = src.get('otlp-client-certificate');
  if ((keyRaw === undefined) !== (certRaw === undefined)) {
    const given = (keyRaw ?? certRaw) as Raw;
    throw new UsageError(`${given.source}: mutual TLS needs both a client key and a client certificate (--otlp-client-key and --otlp-client-certificate)`);
  }
  const config: OtlpConfig = {
    endpoint, protocol, insecure, headers: Object.freeze(merged),
    compression: comp === undefined ? 'none' : oneOf(comp, ['gzip', 'none'] as const),
    timeoutMs,
  };
  const certificate = readFileOption(src.get('otlp-certificate'), deps);
  const clientKey = readFileOption(keyRaw, deps);
  const clientCertificate = readFileOption(certRaw, deps);
  return Object.freeze({
    ...config,
    ...(certificate ? { certificate } : {}),
    ...(clientKey ? { clientKey } : {}),
    ...(clientCertificate ? { clientCertificate } : {}),
  });
}

/** OTLP metrics go where the alerts go unless told otherwise; over HTTP to the /v1/metrics path. */
function metricsEndpoint(raw: Raw | undefined, logs: OtlpConfig, logsSource: string | undefined): string {
  if (raw === undefined) {
    if (logs.protocol === 'grpc') return logs.endpoint;
    const u = new URL(logs.endpoint);
    // The generic variable is a base URL (its /v1/logs was added); a logs-only URL names a logs path.
    if (logsSource === 'OTEL_EXPORTER_OTLP_ENDPOINT' && u.pathname.endsWith('/v1/logs')) return `${u.origin}${u.pathname.slice(0, -'/v1/logs'.length)}/v1/metrics${u.search}`;
    return `${u.origin}/v1/metrics`;
  }
  let value = raw.value.trim();
  if (logs.protocol === 'grpc' && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(value)) value = `${logs.insecure ? 'http' : 'https'}://${value}`;
  const u = url({ value, source: raw.source });
  if (logs.protocol === 'grpc') {
    if (u.pathname !== '/' && u.pathname !== '') throw bad(raw, 'a gRPC endpoint has no path (scheme://host:port)');
    return `${u.protocol}//${u.host}`;
  }
  return u.pathname === '/' || u.pathname === '' ? `${u.origin}/v1/metrics${u.search}` : u.href;
}

const METRICS_EXPORTERS = ['prometheus', 'otlp'] as const;

function parseMetrics(src: Sources, otlp: () => OtlpConfig, healthOn: boolean): MetricsConfig {
  const raw = src.get('metrics-exporter');
  const names = raw === undefined ? ['prometheus'] : raw.value.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (raw !== undefined && (names.length === 0 || (names.includes('none') && names.length > 1))) throw bad(raw, 'expected prometheus, otlp, both comma-separated, or none');
  if (raw !== undefined) for (const n of names) if (n !== 'none') oneOf({ value: n, source: raw.source }, METRICS_EXPORTERS);
  const iv = src.get('metrics-interval');
  const intervalMs = iv === undefined ? 60_000 : duration(iv, iv.source.startsWith('OTEL_'));
  if (intervalMs <= 0 && iv !== undefined) throw bad(iv, 'expected an interval greater than 0');
  // Settings that only matter to OTLP push are refused without it (the generic OTEL_* variables
  // may be set for every process of the pod, so those are let through).
  if (!names.includes('otlp')) {
    for (const n of ['metrics-otlp-endpoint', 'metrics-interval']) {
      const r = src.get(n);
      if (r !== undefined && !r.source.startsWith('OTEL_')) throw bad(r, 'metrics are not pushed over OTLP: add otlp to --metrics-exporter');
    }
  }
  if (names.includes('prometheus') && raw !== undefined && !healthOn) throw bad(raw, 'prometheus metrics are served on the health address, which is off (--health-addr)');
  let pushTo: OtlpConfig | null = null;
  if (names.includes('otlp')) {
    const logs = otlp();
    pushTo = Object.freeze({ ...logs, endpoint: metricsEndpoint(src.get('metrics-otlp-endpoint'), logs, src.get('otlp-endpoint')?.source) });
  }
  return Object.freeze({ prometheus: names.includes('prometheus') && healthOn, otlp: pushTo, intervalMs });
}

function parseHealth(raw: Raw | undefined): HealthAddr | null {
  if (raw === undefined) return Object.freeze({ host: '0.0.0.0', port: 8787 });
  if (raw.value.trim() === 'off') return null;
  return Object.freeze(hostPort(raw));
}

/** Default size of the kernel ring buffer (`--ring-buffer-size`); the one default, passed down to the helper. */
export const RING_BUFFER_DEFAULT = 4 * 1024 * 1024;
const RING_BUFFER_MIN = 256 * 1024;
const RING_BUFFER_MAX = 1024 * 1024 * 1024;

/** The kernel wants a power of two: the size asked for, rounded up. */
function ringBufferSize(raw: Raw): number {
  const asked = size(raw);
  if (asked < RING_BUFFER_MIN || asked > RING_BUFFER_MAX) throw bad(raw, 'expected a size from 256KiB to 1GiB');
  let bytes = RING_BUFFER_MIN;
  while (bytes < asked) bytes *= 2;
  return bytes;
}

/** Entries per kernel filter map for one policy set; the helper makes each map twice that (the double buffer), memory grows with the entries present. */
export function kernelFilterCapacity(raw: Raw): number {
  const n = positiveInt(raw);
  if (n > 16 * 1024 * 1024) throw bad(raw, 'expected a number of entries from 1 to 16777216');
  return n;
}

/** --datadog-attributes, --datadog-source, --datadog-tags; null when all three are off. */
function parseDatadog(src: Sources): DatadogSettings | null {
  const attrs = src.get('datadog-attributes');
  const sourceRaw = src.get('datadog-source');
  const tagsRaw = src.get('datadog-tags');
  const attributes = attrs === undefined ? false : bool(attrs);
  let source: string | undefined;
  if (sourceRaw !== undefined) {
    source = sourceRaw.value.trim();
    if (!SOURCE_NAME.test(source)) throw bad(sourceRaw, 'expected a source name: letters, digits, `_`, `.`, `-` (e.g. kubearmor)');
  }
  const tags: string[] = [];
  if (tagsRaw !== undefined) {
    for (const t of tagsRaw.value.split(',').map((x) => x.trim())) {
      if (!STATIC_TAG.test(t)) throw bad(tagsRaw, `"${t}" is not a Datadog tag: a letter first, then letters, digits and _-:./ (at most 200), tags separated by commas`);
      tags.push(t);
    }
  }
  if (!attributes && source === undefined && tags.length === 0) return null;
  return Object.freeze({ ...(source === undefined ? {} : { source }), tags: Object.freeze(tags), attributes });
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function parseRunConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, deps: ParseDeps = DEFAULT_DEPS): ParseResult {
  const flags = scanArgv(argv);
  if (flags.has('help')) return { help: true };
  const src = new Sources(flags, env);

  const policies: string[] = [];
  const policyFlags = src.flagValues('policies');
  if (policyFlags.length > 0) for (const r of policyFlags) policies.push(r.value);
  else for (const r of src.envValues('policies').slice(0, 1)) policies.push(...r.value.split(':').filter((p) => p !== ''));
  const eventNameAttr = src.get('event-name-attribute');
  const crds = src.get('policy-crds');
  const policyCrds = crds === undefined ? false : bool(crds);
  if (policies.length === 0 && !policyCrds) throw new UsageError('no policies given: use --policies DIR (repeatable) or ARMORWATCH_POLICIES=DIR[:DIR...], or --policy-crds');

  const str = (name: string, fallback: string): string => {
    const raw = src.get(name);
    if (raw === undefined) return fallback;
    const v = raw.value.trim();
    if (v === '') throw bad(raw, 'expected a non-empty value');
    return v;
  };
  const exp = src.get('exporter');
  const endpointSet = src.get('otlp-endpoint') !== undefined;
  const exporter: ExporterMode = exp === undefined ? (endpointSet ? 'otlp' : 'stdout') : oneOf(exp, ['otlp', 'stdout', 'both'] as const);
  const posture = src.get('default-file-posture');
  const networkPosture = src.get('default-network-posture');
  const qs = src.get('queue-size');
  const qb = src.get('queue-bytes');
  const bs = src.get('batch-size');
  const rme = src.get('retry-max-elapsed');
  const sd = src.get('shutdown-deadline');
  const rb = src.get('ring-buffer-size');
  const kfc = src.get('kernel-filter-capacity');
  const si = src.get('stats-interval');
  const mps = src.get('max-alerts-per-sec');
  const ts = src.get('throttle-sec');
  const maxAlertsPerSec = mps === undefined ? 10 : nonNegativeInt(mps);
  const throttleSec = ts === undefined ? 30 : nonNegativeInt(ts);
  const ll = src.get('log-level');
  const kc = src.get('kubeconfig');
  // Read once here so that a wrong path is reported against the flag or variable that gave it.
  if (kc !== undefined) readFileOption(kc, deps);

  const health = parseHealth(src.get('health-addr'));
  let otlp: OtlpConfig | undefined;
  const otlpConfig = (): OtlpConfig => (otlp ??= parseOtlp(src, deps));

  const queue = Object.freeze({
    maxRecords: qs === undefined ? 50_000 : positiveInt(qs),
    maxBytes: qb === undefined ? 32 * 1024 * 1024 : size(qb),
    batchRecords: bs === undefined ? Math.min(1024, qs === undefined ? 50_000 : positiveInt(qs)) : positiveInt(bs),
    retryMaxElapsedMs: rme === undefined ? 300_000 : duration(rme),
  });
  if (bs !== undefined && queue.batchRecords > queue.maxRecords) {
    throw bad(bs, `the batch size (${queue.batchRecords}) cannot exceed the queue size (${queue.maxRecords})`);
  }
  const ringBufferBytes = rb === undefined ? RING_BUFFER_DEFAULT : ringBufferSize(rb);
  const shutdownDeadlineMs = sd === undefined ? 25_000 : duration(sd);
  if (shutdownDeadlineMs <= 0 && sd !== undefined) throw bad(sd, 'expected a deadline greater than 0');

  const config: RunConfig = {
    policies: Object.freeze(policies),
    policyCrds,
    nodeName: str('node-name', deps.hostname()),
    clusterName: str('cluster-name', 'default'),
    ...(kc === undefined ? {} : { kubeconfig: kc.value.trim() }),
    defaultFilePosture: posture === undefined ? 'audit' : oneOf(posture, ['audit', 'block'] as const),
    defaultNetworkPosture: networkPosture === undefined ? 'audit' : oneOf(networkPosture, ['audit', 'block'] as const),
    exporter,
    otlp: exporter === 'stdout' ? null : otlpConfig(),
    queue,
    ringBufferBytes,
    kernelFilterCapacity: kfc === undefined ? KERNEL_FILTER_CAPACITY_DEFAULT : kernelFilterCapacity(kfc),
    shutdownDeadlineMs,
    statsIntervalMs: si === undefined ? 60_000 : duration(si),
    throttle: maxAlertsPerSec === 0 || throttleSec === 0 ? null : Object.freeze({ maxAlertsPerSec, throttleSec }),
    scan: parseScan(src),
    health,
    metrics: parseMetrics(src, otlpConfig, health !== null),
    serviceName: str('service-name', 'armorwatch'),
    // Merged like the headers: the OTel variable, then ours, then the flags, later ones winning per key.
    resourceAttributes: Object.freeze(Object.assign({}, ...[...src.envValues('resource-attributes').reverse(), ...src.flagValues('resource-attributes')].map(keyValues)) as Record<string, string>),
    eventNameAttribute: eventNameAttr === undefined ? false : bool(eventNameAttr),
    datadog: parseDatadog(src),
    logLevel: ll === undefined ? 'info' : oneOf(ll, LOG_LEVELS),
  };
  return { help: false, config: Object.freeze(config) };
}
