// The merged, validated run configuration. Built once by parseRunConfig, frozen, passed down.
import type { DatadogSettings } from '../export/datadog.ts';

export type OtlpProtocol = 'grpc' | 'http/protobuf';
export type ExporterMode = 'otlp' | 'stdout' | 'both';

export interface OtlpConfig {
  /** Full URL (http/protobuf: including the path, e.g. /v1/logs). */
  readonly endpoint: string;
  readonly protocol: OtlpProtocol;
  /** gRPC only, for an endpoint without scheme: plain text instead of TLS. */
  readonly insecure: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'gzip' | 'none';
  readonly timeoutMs: number;
  readonly certificate?: Buffer;
  readonly clientKey?: Buffer;
  readonly clientCertificate?: Buffer;
}

export interface QueueConfig {
  readonly maxRecords: number;
  readonly maxBytes: number;
  readonly batchRecords: number;
  /** 0 = retry until shutdown. */
  readonly retryMaxElapsedMs: number;
}

export interface HealthAddr {
  readonly host: string;
  readonly port: number;
}

export interface MetricsConfig {
  /** Serve Prometheus text at /metrics on the health server. */
  readonly prometheus: boolean;
  /** Push OTLP metrics here (the logs' connection settings, the metrics endpoint); null = no push. */
  readonly otlp: OtlpConfig | null;
  /** How often OTLP metrics are pushed. */
  readonly intervalMs: number;
}

/** Port-scan detection (--scan-*; src/config/scan.ts, docs/DETECTION.md). */
export interface ScanConfig {
  /** Fast window: distinct ports of one host (`ports`) or hosts on one port (`hosts`) within it start an episode. */
  readonly windowMs: number;
  readonly ports: number;
  readonly hosts: number;
  /** Slow window: the same with its own thresholds, for scans spread out in time. */
  readonly slowWindowMs: number;
  readonly slowPorts: number;
  readonly slowHosts: number;
  /** Least time between two records of one running episode. */
  readonly updateIntervalMs: number;
  /** An episode ends after this long without an attempt. */
  readonly quietMs: number;
  /** Workloads (pods; host process trees) watched at once, and distinct targets held per workload. */
  readonly maxKeys: number;
  readonly maxTargets: number;
}

export interface RunConfig {
  readonly policies: readonly string[];
  /** Also watch KubeArmor's policy custom resources through the Kubernetes API. */
  readonly policyCrds: boolean;
  readonly nodeName: string;
  readonly clusterName: string;
  /** Kubernetes client configuration file; unset: in-cluster service account, else runtime metadata only. */
  readonly kubeconfig?: string;
  readonly defaultFilePosture: 'audit' | 'block';
  readonly defaultNetworkPosture: 'audit' | 'block';
  readonly exporter: ExporterMode;
  /** Null in stdout mode. */
  readonly otlp: OtlpConfig | null;
  readonly queue: QueueConfig;
  /** Size of the kernel ring buffer, a power of two. */
  readonly ringBufferBytes: number;
  /** Entries each kernel filter map holds for one policy set (--kernel-filter-capacity). */
  readonly kernelFilterCapacity: number;
  readonly shutdownDeadlineMs: number;
  /** 0 = counters are logged only at exit. */
  readonly statsIntervalMs: number;
  /** Alert throttling (--max-alerts-per-sec, --throttle-sec); null when off (either is 0). */
  readonly throttle: { readonly maxAlertsPerSec: number; readonly throttleSec: number } | null;
  /** Port-scan detection; null when off (--scan-detection=false). */
  readonly scan: ScanConfig | null;
  /** Null when the health server is off. */
  readonly health: HealthAddr | null;
  readonly metrics: MetricsConfig;
  readonly serviceName: string;
  /** Static attributes of every Resource (records and metrics), merged from OTEL_RESOURCE_ATTRIBUTES, the variable and the flag. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Copy EventName into the deprecated `event.name` record attribute (--event-name-attribute). */
  readonly eventNameAttribute: boolean;
  /** What Datadog needs on each record (--datadog-attributes, --datadog-source, --datadog-tags); null when all are off. */
  readonly datadog: DatadogSettings | null;
  readonly logLevel: string;
}
