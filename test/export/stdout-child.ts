// Child process of stdout.test.ts: exports three alerts in stdout mode with the real fd-1 stream.
import { createAlertExporter } from '../../src/export/index.ts';
import { createLogger } from '../../src/log.ts';
import { SEED_MATCH } from './fixtures.ts';

const exp = createAlertExporter({
  exporter: 'stdout', otlp: null, serviceName: 'armorwatch', statsIntervalMs: 0,
  queue: { maxRecords: 1000, maxBytes: 1 << 20, batchRecords: 100, retryMaxElapsedMs: 0 },
}, createLogger('warn'));
for (let i = 0; i < 3; i++) exp.export(SEED_MATCH);
await exp.shutdown(5000);
