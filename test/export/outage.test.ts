// The Collector goes away and comes back on the same port while alerts keep coming: nothing is
// lost silently. Either every alert arrives (queue big enough), or the drop counter says exactly
// how many are missing at the Collector (queue too small).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAlertExporter, type AlertExporter, type ExportSettings } from '../../src/export/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startCollector, type CollectedRecord, type Collector } from '../helpers/collector.ts';
import { podMatch } from './fixtures.ts';

function settings(c: Collector, maxRecords: number): ExportSettings {
  return {
    exporter: 'otlp',
    otlp: { endpoint: `http://${c.grpcAddress}`, protocol: 'grpc', insecure: true, headers: {}, compression: 'none', timeoutMs: 3000 },
    queue: { maxRecords, maxBytes: 64 << 20, batchRecords: 100, retryMaxElapsedMs: 0 },
    serviceName: 'armorwatch',
    statsIntervalMs: 0,
  };
}

/** Emits one alert every `everyMs` (sequence number in process.pid) until stopped; returns how many. */
function produce(exp: AlertExporter, everyMs: number): { stop: () => number } {
  let seq = 0;
  const timer = setInterval(() => { exp.export(podMatch(seq % 3, seq)); seq++; }, everyMs);
  return { stop: () => { clearInterval(timer); return seq; } };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function seqs(records: readonly CollectedRecord[]): number[] {
  return records.map((r) => (r.attributes['process.pid'] as number) - 100_000);
}

test('Collector down for 20 s: every alert arrives once it is back, none duplicated', async () => {
  const c = await startCollector();
  try {
    const exp = createAlertExporter(settings(c, 10_000), silentLogger);
    const p = produce(exp, 10);
    await sleep(2000);
    await c.stop();
    const downAt = exp.stats().otlp?.exported ?? 0;
    await sleep(20_000);
    const during = exp.stats().otlp;
    assert.equal(during?.exported, downAt, 'nothing can be exported while the Collector is down');
    assert.ok((during?.queued ?? 0) + (during?.inFlight ?? 0) > 1000, 'alerts kept coming and were held');
    await c.start();
    await sleep(2000);
    const sent = p.stop();
    await exp.forceFlush();
    const stats = await exp.shutdown(5000);
    const got = seqs(await c.waitForRecords(sent));
    const unique = new Set(got);
    assert.equal(unique.size, sent, 'every alert arrived');
    assert.equal(got.length, sent, 'no alert arrived twice');
    assert.equal(stats.otlp?.exported, sent);
    assert.deepEqual(stats.otlp?.dropped, { queue_full: 0, rejected: 0, retry_exhausted: 0, shutdown: 0 });
    assert.ok((stats.otlp?.retried ?? 0) > 0, 'the outage was bridged by retries');
  } finally {
    await c.dispose();
  }
});

test('queue too small for the outage: the drop counter equals what is missing at the Collector', async () => {
  const c = await startCollector();
  try {
    const exp = createAlertExporter(settings(c, 300), silentLogger, { processor: { backoff: { initialMs: 100, maxMs: 500, multiplier: 2, jitter: 0.5 } } });
    const p = produce(exp, 5);
    await sleep(1000);
    await c.stop();
    await sleep(5000);
    await c.start();
    await sleep(1000);
    const sent = p.stop();
    await exp.forceFlush();
    const stats = await exp.shutdown(5000);
    const o = stats.otlp;
    assert.ok(o !== undefined);
    assert.ok(o.dropped.queue_full > 0, 'the queue overflowed');

    const got = seqs(await c.waitForRecords(sent - o.dropped.queue_full));
    const missing = sent - new Set(got).size;
    assert.equal(got.length, new Set(got).size, 'no duplicates');
    assert.equal(missing, o.dropped.queue_full, 'every missing alert was counted as dropped (queue_full)');
    assert.equal(o.offered, sent);
    assert.equal(o.exported + o.dropped.queue_full, sent);
  } finally {
    await c.dispose();
  }
});

test('shutdown with the Collector gone: the flush gives up at the deadline and counts the rest as dropped (shutdown)', async () => {
  const c = await startCollector();
  try {
    const exp = createAlertExporter(settings(c, 10_000), silentLogger);
    await c.stop();
    for (let seq = 0; seq < 250; seq++) exp.export(podMatch(seq % 3, seq));
    const t0 = Date.now();
    const stats = await exp.shutdown(1500);
    const took = Date.now() - t0;
    assert.ok(took >= 1400 && took < 6000, `gave up at the deadline (${took} ms)`);
    assert.equal(stats.otlp?.exported, 0);
    assert.equal(stats.otlp?.dropped.shutdown, 250, 'every record still held is counted');
    exp.export(podMatch(0, 999));
    assert.equal(exp.stats().otlp?.dropped.shutdown, 251, 'records after shutdown are counted too');
  } finally {
    await c.dispose();
  }
});
