// The OTLP log exporter for a resolved OtlpConfig: gRPC (default) or HTTP/protobuf. Everything is
// passed explicitly (src/config already merged flags and OTEL_* variables), so the exporters' own
// environment fallbacks never disagree with what the agent logged as its configuration.
import { credentials, Metadata } from '@grpc/grpc-js';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import type { OtlpConfig } from '../config/types.ts';
import type { LogRecordExporter } from './sdk.ts';

// The exporters type compression as an enum whose values are these very strings.
type GrpcCompression = NonNullable<NonNullable<ConstructorParameters<typeof GrpcLogExporter>[0]>['compression']>;
type HttpCompression = NonNullable<NonNullable<ConstructorParameters<typeof HttpLogExporter>[0]>['compression']>;

export function createOtlpExporter(cfg: OtlpConfig): LogRecordExporter {
  if (cfg.protocol === 'grpc') {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(cfg.headers)) metadata.set(k, v);
    const tls = cfg.endpoint.startsWith('https://');
    const creds = tls
      ? credentials.createSsl(cfg.certificate ?? null, cfg.clientKey ?? null, cfg.clientCertificate ?? null)
      : credentials.createInsecure();
    return new GrpcLogExporter({
      url: cfg.endpoint,
      metadata,
      credentials: creds,
      compression: cfg.compression as GrpcCompression,
      timeoutMillis: cfg.timeoutMs,
    });
  }
  return new HttpLogExporter({
    url: cfg.endpoint,
    headers: { ...cfg.headers },
    compression: cfg.compression as HttpCompression,
    timeoutMillis: cfg.timeoutMs,
    httpAgentOptions: {
      keepAlive: true,
      ...(cfg.certificate ? { ca: cfg.certificate } : {}),
      ...(cfg.clientKey ? { key: cfg.clientKey } : {}),
      ...(cfg.clientCertificate ? { cert: cfg.clientCertificate } : {}),
    },
  });
}
