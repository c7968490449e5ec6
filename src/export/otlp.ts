// The OTLP log exporter for a resolved OtlpConfig: gRPC (default) or HTTP/protobuf. Everything is
// passed explicitly (src/config already merged flags and OTEL_* variables), so the exporters' own
// environment fallbacks never disagree with what the agent logged as its configuration.
//
// The exporters are assembled exactly as @opentelemetry/exporter-logs-otlp-grpc and -proto
// assemble theirs (same delegates, option conversion, transport, self-metrics helper, service
// path), from the same release of the same packages; the only part swapped is the request
// serializer (./protobuf.ts, byte-identical output at a fraction of the CPU).
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import type { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import { LogsExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { OtlpConfig } from '../config/types.ts';
import { LogsSerializer } from './protobuf.ts';
import type { LogRecordExporter, ReadableLogRecord } from './sdk.ts';

type GrpcOptions = NonNullable<ConstructorParameters<typeof GrpcLogExporter>[0]>;
type HttpOptions = NonNullable<ConstructorParameters<typeof HttpLogExporter>[0]>;
// The exporters type compression as an enum whose values are these very strings.
type GrpcCompression = NonNullable<GrpcOptions['compression']>;
type HttpCompression = NonNullable<HttpOptions['compression']>;

// The component types and gRPC service the stock log exporters report and call.
const GRPC_COMPONENT = 'otlp_grpc_log_exporter';
const HTTP_COMPONENT = 'otlp_http_log_exporter';
const GRPC_SERVICE = 'LogsExportService';
const GRPC_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** gRPC metadata (the headers) and channel credentials (TLS for https://) of a resolved config. */
export function grpcTransport(cfg: OtlpConfig): { metadata: Metadata; credentials: ChannelCredentials } {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(cfg.headers)) metadata.set(k, v);
  const creds = cfg.endpoint.startsWith('https://')
    ? credentials.createSsl(cfg.certificate ?? null, cfg.clientKey ?? null, cfg.clientCertificate ?? null)
    : credentials.createInsecure();
  return { metadata, credentials: creds };
}

/** The HTTP agent settings (keep-alive, CA, client certificate) of a resolved config. */
export function httpAgentOptions(cfg: OtlpConfig): { keepAlive: true; ca?: Buffer; key?: Buffer; cert?: Buffer } {
  return {
    keepAlive: true,
    ...(cfg.certificate ? { ca: cfg.certificate } : {}),
    ...(cfg.clientKey ? { key: cfg.clientKey } : {}),
    ...(cfg.clientCertificate ? { cert: cfg.clientCertificate } : {}),
  };
}

export function createOtlpExporter(cfg: OtlpConfig): LogRecordExporter {
  if (cfg.protocol === 'grpc') {
    const options: GrpcOptions = {
      url: cfg.endpoint,
      ...grpcTransport(cfg),
      compression: cfg.compression as GrpcCompression,
      timeoutMillis: cfg.timeoutMs,
    };
    return new OTLPExporterBase<ReadableLogRecord[]>(createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions(options, 'LOGS'), LogsSerializer, GRPC_COMPONENT, LogsExporterMetricsHelper,
      undefined, GRPC_SERVICE, GRPC_PATH));
  }
  const options: HttpOptions = {
    url: cfg.endpoint,
    headers: { ...cfg.headers },
    compression: cfg.compression as HttpCompression,
    timeoutMillis: cfg.timeoutMs,
    httpAgentOptions: httpAgentOptions(cfg),
  };
  return new OTLPExporterBase<ReadableLogRecord[]>(createOtlpHttpExportDelegate(
    convertLegacyHttpOptions(options, 'LOGS', 'v1/logs', { 'Content-Type': 'application/x-protobuf' }),
    LogsSerializer, HTTP_COMPONENT, LogsExporterMetricsHelper, undefined));
}
