// The real OpenTelemetry Collector for tests: built (and cached) by otel-collector/build.sh, run
// with an OTLP receiver on free loopback ports and the file exporter writing OTLP-JSON, one export
// request per line, into a temporary folder; the records are parsed back from that file.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defer, killOnExit, type HasAfter } from './cleanup.ts';

const BUILD_SH = fileURLToPath(new URL('../../otel-collector/build.sh', import.meta.url));

let cachedBinary: string | undefined;

/** Path of the collector binary; builds it on first use (minutes) when the cache is empty. */
export function collectorBinary(): string {
  cachedBinary ??= execFileSync('bash', [BUILD_SH], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return cachedBinary;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** When set, the receiver demands a client certificate signed by this CA (mutual TLS). */
  readonly clientCaFile?: string;
}

export interface CollectorOptions {
  readonly tls?: TlsFiles;
  /** Request headers copied into resource attributes `test.header.<name>` (client metadata). */
  readonly headers?: readonly string[];
  /** Put the Collector's batch processor in the pipeline (off: one file line per request received). */
  readonly batch?: boolean;
  readonly grpcPort?: number;
  readonly httpPort?: number;
  /** 'file' (default): OTLP-JSON lines to parse; 'debug': one summary line per batch (cheap, for benchmarks). */
  readonly sink?: 'file' | 'debug';
  /** Serve the Collector's own metrics (Prometheus text) on 127.0.0.1:metricsPort. */
  readonly metricsPort?: number;
}

/** A LogRecord parsed back from the file exporter, with its resource and attributes as plain values. */
export interface CollectedRecord {
  readonly request: number;
  readonly resource: Record<string, unknown>;
  readonly attributes: Record<string, unknown>;
  readonly timeUnixNano: string;
  readonly observedTimeUnixNano: string;
  readonly severityNumber: number | undefined;
  readonly severityText: string | undefined;
  readonly body: unknown;
  readonly eventName: string | undefined;
}

export interface OtlpJsonRequest {
  resourceLogs?: Array<{
    resource?: { attributes?: KeyValue[] };
    schemaUrl?: string;
    scopeLogs?: Array<{ logRecords?: JsonLogRecord[] }>;
  }>;
  resourceMetrics?: Array<{
    resource?: { attributes?: KeyValue[] };
    schemaUrl?: string;
    scopeMetrics?: Array<{ metrics?: JsonMetric[] }>;
  }>;
}
interface JsonNumberPoint { attributes?: KeyValue[]; asInt?: string | number; asDouble?: number }
interface JsonMetric {
  name: string; unit?: string;
  sum?: { dataPoints?: JsonNumberPoint[]; isMonotonic?: boolean };
  gauge?: { dataPoints?: JsonNumberPoint[] };
  histogram?: { dataPoints?: Array<{ attributes?: KeyValue[]; count?: string | number; sum?: number }> };
}

/** One data point of an OTLP metric parsed back from the file exporter (histograms: their count). */
export interface CollectedPoint {
  readonly request: number;
  readonly resource: Record<string, unknown>;
  readonly name: string;
  readonly unit: string | undefined;
  readonly kind: 'sum' | 'gauge' | 'histogram';
  readonly attributes: Record<string, unknown>;
  readonly value: number;
}
interface KeyValue { key: string; value: AnyValueJson }
interface AnyValueJson {
  stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean;
  arrayValue?: { values?: AnyValueJson[] }; kvlistValue?: { values?: KeyValue[] };
}
interface JsonLogRecord {
  timeUnixNano?: string; observedTimeUnixNano?: string; severityNumber?: number | string; severityText?: string;
  body?: AnyValueJson; attributes?: KeyValue[]; eventName?: string;
}

/** OTLP-JSON AnyValue → JS value (int64 comes as a string in JSON: back to a number). */
export function anyValue(v: AnyValueJson | undefined): unknown {
  if (v === undefined) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue !== undefined) return attrs(v.kvlistValue.values);
  return undefined;
}

/** Keeps the JSON type visible for typed-value assertions: 'int' | 'string' | 'array' | 'double' | 'bool'. */
export function anyValueKind(v: AnyValueJson | undefined): string {
  if (v === undefined) return 'none';
  if (v.stringValue !== undefined) return 'string';
  if (v.intValue !== undefined) return 'int';
  if (v.doubleValue !== undefined) return 'double';
  if (v.boolValue !== undefined) return 'bool';
  if (v.arrayValue !== undefined) return 'array';
  return 'other';
}

function attrs(list: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

export class Collector {
  readonly dir: string;
  readonly outFile: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly #configFile: string;
  #proc: ChildProcess | undefined;
  #stderr = '';
  /** Output files of earlier runs (before a restart), oldest first. */
  readonly #segments: string[] = [];

  constructor(dir: string, grpcPort: number, httpPort: number, opts: CollectorOptions) {
    this.dir = dir;
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.outFile = join(dir, 'logs.jsonl');
    this.#configFile = join(dir, 'collector.yaml');
    writeFileSync(this.#configFile, collectorConfig(this, opts));
  }

  /** `127.0.0.1:port` of the gRPC receiver. */
  get grpcAddress(): string { return `127.0.0.1:${this.grpcPort}`; }
  get httpBase(): string { return `127.0.0.1:${this.httpPort}`; }
  get stderr(): string { return this.#stderr; }

  /** Starts (or restarts, on the same ports) and resolves once the Collector says it is ready. */
  async start(): Promise<void> {
    if (this.#proc !== undefined) throw new Error('collector already running');
    // The file exporter truncates its file when it starts: keep what an earlier run wrote.
    if (existsSync(this.outFile)) {
      const kept = join(this.dir, `logs.${this.#segments.length}.jsonl`);
      renameSync(this.outFile, kept);
      this.#segments.push(kept);
    }
    const proc = spawn(collectorBinary(), ['--config', `file:${this.#configFile}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#proc = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`collector not ready after 30 s:\n${this.#stderr}`)), 30_000);
      proc.stderr?.setEncoding('utf8');
      proc.stderr?.on('data', (chunk: string) => {
        this.#stderr += chunk;
        if (this.#stderr.includes('Everything is ready')) { clearTimeout(timer); resolve(); }
      });
      proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`collector exited with ${code}:\n${this.#stderr}`)); });
    });
  }

  /** Stops the process (SIGTERM: the file exporter flushes) and waits for it to exit. */
  async stop(): Promise<void> {
    const proc = this.#proc;
    if (proc === undefined) return;
    this.#proc = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => { clearTimeout(kill); resolve(); });
      proc.kill('SIGTERM');
    });
  }

  /** LogRecords the receiver accepted so far, from the Collector's own metrics (needs metricsPort). */
  async acceptedRecords(metricsPort: number): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(/^otelcol_receiver_accepted_log_records(?:_total)?\{[^}]*\} ([0-9.e+]+)$/gm)) n += Number(m[1]);
    return n;
  }

  /** Export requests written so far (complete lines only). */
  requests(): OtlpJsonRequest[] {
    const out: OtlpJsonRequest[] = [];
    for (const file of [...this.#segments, this.outFile]) {
      if (!existsSync(file)) continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.pop(); // the part after the last newline is still being written
      for (const l of lines) if (l.trim() !== '') out.push(JSON.parse(l) as OtlpJsonRequest);
    }
    return out;
  }

  /** Every LogRecord received so far, flattened. */
  records(): CollectedRecord[] {
    const out: CollectedRecord[] = [];
    this.requests().forEach((req, i) => {
      for (const rl of req.resourceLogs ?? []) {
        const resource = attrs(rl.resource?.attributes);
        for (const sl of rl.scopeLogs ?? []) {
          for (const r of sl.logRecords ?? []) {
            out.push({
              request: i, resource, attributes: attrs(r.attributes),
              timeUnixNano: String(r.timeUnixNano ?? ''), observedTimeUnixNano: String(r.observedTimeUnixNano ?? ''),
              severityNumber: r.severityNumber === undefined ? undefined : Number(r.severityNumber),
              severityText: r.severityText, body: anyValue(r.body), eventName: r.eventName,
            });
          }
        }
      }
    });
    return out;
  }

  /** Every metric data point received so far (OTLP metrics go to the same file exporter). */
  metricPoints(): CollectedPoint[] {
    const out: CollectedPoint[] = [];
    this.requests().forEach((req, i) => {
      for (const rm of req.resourceMetrics ?? []) {
        const resource = attrs(rm.resource?.attributes);
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            const base = { request: i, resource, name: m.name, unit: m.unit };
            const num = (p: JsonNumberPoint): number => Number(p.asInt ?? p.asDouble ?? NaN);
            for (const p of m.sum?.dataPoints ?? []) out.push({ ...base, kind: 'sum', attributes: attrs(p.attributes), value: num(p) });
            for (const p of m.gauge?.dataPoints ?? []) out.push({ ...base, kind: 'gauge', attributes: attrs(p.attributes), value: num(p) });
            for (const p of m.histogram?.dataPoints ?? []) out.push({ ...base, kind: 'histogram', attributes: attrs(p.attributes), value: Number(p.count ?? NaN) });
          }
        }
      }
    });
    return out;
  }

  /** Polls the output until `count` records arrived (or the timeout passes); returns what is there. */
  async waitForRecords(count: number, timeoutMs = 30_000): Promise<CollectedRecord[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const recs = this.records();
      if (recs.length >= count || Date.now() > until) return recs;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function collectorConfig(c: Collector, opts: CollectorOptions): string {
  const tls = opts.tls === undefined ? '' : [
    '        tls:',
    `          cert_file: ${opts.tls.certFile}`,
    `          key_file: ${opts.tls.keyFile}`,
    ...(opts.tls.clientCaFile === undefined ? [] : [`          client_ca_file: ${opts.tls.clientCaFile}`]),
  ].join('\n');
  const headers = opts.headers ?? [];
  const processors: string[] = [];
  let processorsYaml = 'processors:\n';
  if (headers.length > 0) {
    processors.push('resource/headers');
    processorsYaml += '  resource/headers:\n    attributes:\n';
    for (const h of headers) processorsYaml += `      - key: test.header.${h}\n        from_context: metadata.${h}\n        action: insert\n`;
  }
  if (opts.batch === true) {
    processors.push('batch');
    processorsYaml += '  batch: {}\n';
  }
  if (processors.length === 0) processorsYaml = '';
  const receivers = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${c.grpcPort}
        include_metadata: true
${tls}
      http:
        endpoint: 127.0.0.1:${c.httpPort}
        include_metadata: true
${tls}`;
  const sink = opts.sink ?? 'file';
  const metrics = opts.metricsPort === undefined ? '      level: none' : `      level: basic
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: ${opts.metricsPort}`;
  return `${receivers}
${processorsYaml}
exporters:
  file:
    path: ${c.outFile}
    flush_interval: 50ms
  debug:
    verbosity: basic
service:
  telemetry:
    logs:
      level: info
    metrics:
${metrics}
  pipelines:
    logs:
      receivers: [otlp]
      processors: [${processors.join(', ')}]
      exporters: [${sink}]
    metrics:
      receivers: [otlp]
      exporters: [${sink}]
`;
}

/** Starts a Collector in a fresh temporary folder on free loopback ports. */
export async function startCollector(opts: CollectorOptions = {}): Promise<Collector> {
  const dir = mkdtempSync(join(tmpdir(), 'armorwatch-otelcol-'));
  const c = new Collector(dir, opts.grpcPort ?? await freePort(), opts.httpPort ?? await freePort(), opts);
  await c.start();
  return c;
}

const EXAMPLES = fileURLToPath(new URL('../../otel-collector/examples/', import.meta.url));

/**
 * Runs otel-collector/examples/<name>/config.yaml as shipped, with `env` as its only environment
 * (the examples take their endpoints from variables); resolves once it is ready. `after` kills it.
 */
export async function runExample(t: HasAfter, name: string, env: Record<string, string>): Promise<void> {
  // Several Collectors on one machine: turn off their own metrics server (one fixed port, 8888).
  const proc = killOnExit(spawn(collectorBinary(), ['--config', `file:${join(EXAMPLES, name, 'config.yaml')}`,
    '--set=service::telemetry::metrics::level=none'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  }));
  defer(t, `stop the ${name} example`, () => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after 30 s:\n${stderr}`)), 30_000);
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('Everything is ready')) { clearTimeout(timer); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code}:\n${stderr}`)); });
  });
}
