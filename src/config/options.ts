// The one table of `armorwatch run` options: the parser reads it, --help is printed from it and
// docs/CONFIGURATION.md is checked against it. Order of precedence: flag, then the environment
// variables in the order listed, then the default.
import { SCAN_OPTIONS } from './scan.ts';

export interface OptionSpec {
  /** Long flag name without dashes. */
  readonly name: string;
  /** Placeholder of the value; absent for switches (`--flag`, `--flag=false`). */
  readonly arg?: string;
  readonly env: readonly string[];
  /** The default as a user would read it. */
  readonly default: string;
  readonly help: string;
  readonly repeatable?: boolean;
}

const OTLP = (suffix: string): string[] => [`OTEL_EXPORTER_OTLP_LOGS_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`];

export const RUN_OPTIONS: readonly OptionSpec[] = [
  { name: 'policies', arg: 'DIR', env: ['ARMORWATCH_POLICIES'], default: '(required unless --policy-crds)', repeatable: true,
    help: 'folder (or file) of KubeArmor policy YAML; repeat the flag, or separate folders with `:` in the variable (optional with --policy-crds)' },
  { name: 'policy-crds', env: ['ARMORWATCH_POLICY_CRDS'], default: 'false',
    help: "also load KubeArmorPolicy, KubeArmorClusterPolicy and KubeArmorHostPolicy objects from the Kubernetes API (watched; same validation as files; needs the kubeconfig and deploy/'s read-only RBAC); --policies is then optional" },
  { name: 'node-name', arg: 'NAME', env: ['ARMORWATCH_NODE_NAME', 'NODE_NAME'], default: 'the host name',
    help: "this node's name (alerts' HostName, k8s.node.name)" },
  { name: 'cluster-name', arg: 'NAME', env: ['ARMORWATCH_CLUSTER_NAME'], default: 'default',
    help: "alerts' ClusterName and k8s.cluster.name" },
  { name: 'kubeconfig', arg: 'FILE', env: ['KUBECONFIG'], default: 'the in-cluster service account when mounted, else none',
    help: 'Kubernetes client configuration, for pod labels, owners, namespaces and node labels; without any, container runtime metadata only (docs/KUBERNETES.md)' },
  { name: 'default-file-posture', arg: 'audit|block', env: ['ARMORWATCH_DEFAULT_FILE_POSTURE'], default: 'audit',
    help: 'Action of DefaultPosture alerts where a namespace has no kubearmor-file-posture annotation' },
  { name: 'default-network-posture', arg: 'audit|block', env: ['ARMORWATCH_DEFAULT_NETWORK_POSTURE'], default: 'audit',
    help: 'Action of network DefaultPosture alerts (allow-list mode of network rules) where a namespace has no kubearmor-network-posture annotation' },
  { name: 'exporter', arg: 'otlp|stdout|both', env: ['ARMORWATCH_EXPORTER'], default: 'otlp when an OTLP endpoint is set, else stdout',
    help: 'where alerts go: OTLP logs, JSON lines on standard output, or both' },
  { name: 'otlp-endpoint', arg: 'URL', env: OTLP('ENDPOINT'), default: 'none (grpc: http://localhost:4317, http: http://localhost:4318/v1/logs with --exporter otlp)',
    help: 'OTLP receiver; for http/protobuf OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/logs appended, the flag and the LOGS variable only when they have no path' },
  { name: 'otlp-protocol', arg: 'grpc|http/protobuf', env: OTLP('PROTOCOL'), default: 'grpc',
    help: 'OTLP transport' },
  { name: 'otlp-insecure', env: OTLP('INSECURE'), default: 'false',
    help: 'gRPC without TLS when the endpoint has no scheme (http:// is always plain, https:// always TLS)' },
  { name: 'otlp-headers', arg: 'K=V,...', env: OTLP('HEADERS'), default: 'none',
    help: 'headers sent with every export (URL-encoded values); the variables are merged, the LOGS one and then the flag winning per key' },
  { name: 'otlp-compression', arg: 'gzip|none', env: OTLP('COMPRESSION'), default: 'none',
    help: 'compression of export requests' },
  { name: 'otlp-timeout', arg: 'DURATION', env: OTLP('TIMEOUT'), default: '10s',
    help: 'deadline of one export request (the variables are in milliseconds, as the OTel spec says)' },
  { name: 'otlp-certificate', arg: 'FILE', env: OTLP('CERTIFICATE'), default: 'system roots',
    help: "PEM CA certificate(s) to verify the receiver's TLS certificate" },
  { name: 'otlp-client-key', arg: 'FILE', env: OTLP('CLIENT_KEY'), default: 'none',
    help: 'PEM private key for mutual TLS (with --otlp-client-certificate)' },
  { name: 'otlp-client-certificate', arg: 'FILE', env: OTLP('CLIENT_CERTIFICATE'), default: 'none',
    help: 'PEM client certificate chain for mutual TLS (with --otlp-client-key)' },
  { name: 'queue-size', arg: 'RECORDS', env: ['ARMORWATCH_QUEUE_SIZE'], default: '50000',
    help: 'most records held for export (queued and in flight); more are dropped and counted (queue_full)' },
  { name: 'queue-bytes', arg: 'SIZE', env: ['ARMORWATCH_QUEUE_BYTES'], default: '32MiB',
    help: 'most estimated bytes held for export, and most bytes waiting for standard output' },
  { name: 'batch-size', arg: 'RECORDS', env: ['ARMORWATCH_BATCH_SIZE'], default: '1024 (or the queue size, if smaller)',
    help: 'most records in one export request' },
  { name: 'ring-buffer-size', arg: 'SIZE', env: ['ARMORWATCH_RING_BUFFER_SIZE'], default: '4MiB',
    help: 'kernel ring buffer between the eBPF programs and the agent, rounded up to a power of two (256KiB to 1GiB); events that find it full are counted (lostInKernel). Resident twice in the helper: the data pages are mapped twice' },
  { name: 'kernel-filter-capacity', arg: 'ENTRIES', env: ['ARMORWATCH_KERNEL_FILTER_CAPACITY'], default: '65536',
    help: 'entries each kernel filter map holds for one policy set: exact paths, directory prefixes (a /proc/<pid>/... path counts twice), executed files, their directories, their base names, files and directories watched by identity (each container counts its own); a policy set needing more is refused, naming the policies contributing most, and so is an identity update at run time (naming the host or the containers needing most). The maps hold two sets, the one in force and the next one, so a change switches at once; entries use kernel memory only while present (docs/OPERATIONS.md)' },
  { name: 'retry-max-elapsed', arg: 'DURATION', env: ['ARMORWATCH_RETRY_MAX_ELAPSED'], default: '5m',
    help: 'how long a failing batch is retried before it is dropped (retry_exhausted); 0 = until shutdown' },
  { name: 'shutdown-deadline', arg: 'DURATION', env: ['ARMORWATCH_SHUTDOWN_DEADLINE'], default: '25s',
    help: "on SIGTERM/SIGINT, how long the whole shutdown may take, counted from the signal: detaching and flushing what is queued (keep it under the pod's terminationGracePeriodSeconds)" },
  { name: 'max-alerts-per-sec', arg: 'N', env: ['ARMORWATCH_MAX_ALERTS_PER_SEC'], default: '10',
    help: 'alert throttling, per container (host processes: the node counts as one): past N alerts in one second, one notice record (Type AlertThreshold) and then none of its alerts for --throttle-sec; what is suppressed is counted per workload and policy, in the notice that ends the quiet period and in the metrics; 0 = no throttling' },
  { name: 'throttle-sec', arg: 'SECONDS', env: ['ARMORWATCH_THROTTLE_SEC'], default: '30',
    help: 'length of a quiet period of alert throttling; 0 = no throttling' },
  ...SCAN_OPTIONS,
  { name: 'stats-interval', arg: 'DURATION', env: ['ARMORWATCH_STATS_INTERVAL'], default: '60s',
    help: 'how often the kernel, enricher and export counters are logged (also logged at exit); 0 = only at exit' },
  { name: 'health-addr', arg: 'HOST:PORT|off', env: ['ARMORWATCH_HEALTH_ADDR'], default: '0.0.0.0:8787',
    help: 'HTTP liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics, see --metrics-exporter) endpoint' },
  { name: 'metrics-exporter', arg: 'prometheus,otlp|none', env: ['ARMORWATCH_METRICS_EXPORTER', 'OTEL_METRICS_EXPORTER'], default: 'prometheus',
    help: "the agent's own metrics (docs/METRICS.md): `prometheus` serves them at /metrics on the health address, `otlp` pushes them to the OTLP receiver (same protocol, headers and TLS as the alerts), both comma-separated, or none" },
  { name: 'metrics-interval', arg: 'DURATION', env: ['ARMORWATCH_METRICS_INTERVAL', 'OTEL_METRIC_EXPORT_INTERVAL'], default: '60s',
    help: 'how often metrics are pushed over OTLP (OTEL_METRIC_EXPORT_INTERVAL is in milliseconds, as the OTel spec says)' },
  { name: 'metrics-otlp-endpoint', arg: 'URL', env: ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'], default: 'the alerts\' receiver (http/protobuf: its /v1/metrics)',
    help: 'where OTLP metrics go, when not to the receiver of the alerts' },
  { name: 'service-name', arg: 'NAME', env: ['ARMORWATCH_SERVICE_NAME', 'OTEL_SERVICE_NAME'], default: 'armorwatch',
    help: 'service.name of the exported records' },
  { name: 'resource-attributes', arg: 'K=V,...', env: ['ARMORWATCH_RESOURCE_ATTRIBUTES', 'OTEL_RESOURCE_ATTRIBUTES'], default: 'none', repeatable: true,
    help: 'static attributes of every Resource, alerts and metrics (deployment.environment.name=prod,k8s.cluster.uid=...; values URL-encoded); OTEL_RESOURCE_ATTRIBUTES, then ARMORWATCH_RESOURCE_ATTRIBUTES, then the flags, later ones winning per key; the attributes the agent sets itself (service.*, k8s.*, container.*, host.name) win over these, except service.instance.id' },
  { name: 'event-name-attribute', env: ['ARMORWATCH_EVENT_NAME_ATTRIBUTE'], default: 'false',
    help: 'also copy each record\'s EventName (armorwatch.policy.match) into the deprecated `event.name` attribute, for backends and queries that still read it; off, records carry EventName only' },
  { name: 'datadog-attributes', env: ['ARMORWATCH_DATADOG_ATTRIBUTES'], default: 'false',
    help: 'for Datadog, which shows array attributes as JSON text: each policy tag also as a Datadog tag `kubearmor_tag:<tag>` (lower case) in the record\'s `ddtags` attribute, and string copies of the array attributes (`kubearmor.tags_joined`, `process.command_line`, ...; docs/QUERIES.md)' },
  { name: 'datadog-source', arg: 'NAME', env: ['ARMORWATCH_DATADOG_SOURCE'], default: 'none',
    help: 'Datadog log source of every record (`ddsource` and `datadog.log.source` attributes; e.g. `kubearmor`), what Datadog pipelines and integrations route on' },
  { name: 'datadog-tags', arg: 'TAG,...', env: ['ARMORWATCH_DATADOG_TAGS'], default: 'none',
    help: 'static Datadog tags (`key:value`, comma-separated; a letter first, then letters, digits and `_-:./`) in every record\'s `ddtags` attribute, e.g. `team:security,env:prod`' },
  { name: 'log-level', arg: 'LEVEL', env: ['ARMORWATCH_LOG_LEVEL'], default: 'info',
    help: "the agent's own log level on standard error: fatal, error, warn, info, debug, trace or silent" },
  { name: 'help', env: [], default: '', help: 'print this help and exit' },
];

/** `armorwatch run --help`, rendered from RUN_OPTIONS. */
export function runHelp(): string {
  const lines = ['Usage: armorwatch run [options]', '',
    'Monitors file access, process executions and network calls with eBPF, matches them against KubeArmor policies, detects port scans and exports every alert.',
    'Each option can also be set through the environment variables listed under it; a flag wins over',
    'the environment, the first variable listed wins over the next.', '', 'Options:'];
  for (const o of RUN_OPTIONS) {
    lines.push(`  --${o.name}${o.arg === undefined ? '' : ` ${o.arg}`}${o.repeatable === true ? ' (repeatable)' : ''}`);
    lines.push(`      ${o.help}`);
    if (o.env.length > 0) lines.push(`      env: ${o.env.join(', ')}`);
    if (o.default !== '') lines.push(`      default: ${o.default}`);
  }
  return `${lines.join('\n')}\n`;
}
