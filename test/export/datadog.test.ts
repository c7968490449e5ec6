// What the Datadog Agent's OTLP intake would receive: the exporter sends to the datadog-agent
// example pipeline (otel-collector/examples/datadog-agent, run as shipped), which forwards to a
// Collector standing in for the Agent. Datadog turns every record attribute into its string form
// (arrays into JSON text) and adds a string `ddtags` attribute to the log's tags (docs/QUERIES.md):
// so every `@attribute` the cookbook's Datadog searches use must arrive as one string or integer,
// and every tag they use must be in `ddtags`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createAlertExporter, type ExportSettings } from '../../src/export/index.ts';
import type { DatadogSettings } from '../../src/export/datadog.ts';
import { silentLogger } from '../../src/log.ts';
import type { Match, ScanDetection } from '../../src/types.ts';
import { SCAN_DEFAULTS } from '../../src/config/scan.ts';
import { PortScanDetector } from '../../src/detect/portscan.ts';
import { connect, ECONNREFUSED, NODE, outcome, POD } from '../detect/fixtures.ts';
import { anyValueKind, freePort, runExample, startCollector, type Collector } from '../helpers/collector.ts';
import { EXEC_MATCH, SEED_MATCH, SEED_WORKLOAD } from './fixtures.ts';

let agent: Collector;
let route: string;
const stops: Array<() => unknown> = [];
before(async () => {
  agent = await startCollector();
  const [grpc, http] = await Promise.all([freePort(), freePort()]);
  await runExample({ after: (fn) => { stops.push(fn); } }, 'datadog-agent', {
    OTLP_GRPC_LISTEN: `127.0.0.1:${grpc}`, OTLP_HTTP_LISTEN: `127.0.0.1:${http}`,
    DD_AGENT_HOST: '127.0.0.1', DD_AGENT_OTLP_PORT: String(agent.grpcPort),
  });
  route = `http://127.0.0.1:${grpc}`;
});
after(async () => {
  for (const stop of stops) await stop();
  await agent.dispose();
});

function settings(datadog: DatadogSettings | null): ExportSettings {
  return {
    exporter: 'otlp',
    otlp: { endpoint: route, protocol: 'grpc', insecure: true, headers: {}, compression: 'none', timeoutMs: 5000 },
    queue: { maxRecords: 1000, maxBytes: 16 << 20, batchRecords: 100, retryMaxElapsedMs: 60_000 },
    serviceName: 'armorwatch',
    statsIntervalMs: 0,
    datadog,
  };
}

const DOCUMENTED: DatadogSettings = { source: 'kubearmor', tags: ['team:security'], attributes: true };

/** Sends `matches` through the route; returns each one's record as the stand-in got it: values, and OTLP value kinds. */
async function send(datadog: DatadogSettings | null, matches: readonly Match[]): Promise<Array<{ attrs: Record<string, unknown>; kinds: Record<string, string>; resource: Record<string, unknown> }>> {
  const exp = createAlertExporter(settings(datadog), silentLogger);
  const base = 900_000 + Math.floor(Math.random() * 50_000) * 10;
  const pids = matches.map((_, i) => base + i);
  for (const [i, m] of matches.entries()) exp.export({ ...m, event: { ...m.event, hostPid: pids[i]! } });
  await exp.forceFlush();
  assert.equal((await exp.shutdown(5000)).otlp?.exported, matches.length);
  const out: Array<{ attrs: Record<string, unknown>; kinds: Record<string, string>; resource: Record<string, unknown> }> = [];
  for (const pid of pids) {
    let found: (typeof out)[number] | undefined;
    for (let i = 0; i < 150 && found === undefined; i++) {
      const rec = agent.records().find((r) => r.attributes['process.pid'] === pid);
      if (rec !== undefined) {
        const raw = agent.requests().flatMap((q) => q.resourceLogs ?? []).flatMap((rl) => rl.scopeLogs ?? []).flatMap((sl) => sl.logRecords ?? [])
          .find((r) => r.attributes?.some((kv) => kv.key === 'process.pid' && Number(kv.value.intValue) === pid));
        const kinds = Object.fromEntries((raw?.attributes ?? []).map((kv) => [kv.key, anyValueKind(kv.value)]));
        found = { attrs: rec.attributes, kinds, resource: rec.resource };
      } else await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(found, `record of pid ${pid} did not reach the Agent stand-in:\n${agent.stderr}`);
    out.push(found);
  }
  return out;
}

/** The Datadog searches of docs/QUERIES.md (the `text` blocks of its Datadog section). */
function datadogSearches(): string[] {
  const text = readFileSync(new URL('../../docs/QUERIES.md', import.meta.url), 'utf8');
  const section = text.slice(text.indexOf('## Datadog'));
  return [...section.matchAll(/```text\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).filter((l) => l.trim() !== '');
}

/** Datadog's tags for Kubernetes resource attributes (the cookbook's table; Datadog maps them itself). */
const K8S_TAGS: Readonly<Record<string, string>> = { kube_namespace: 'k8s.namespace.name', pod_name: 'k8s.pod.name', kube_container_name: 'k8s.container.name', kube_deployment: 'k8s.deployment.name' };

test('with the Datadog options, every attribute and tag the cookbook\'s Datadog searches use arrives in a form Datadog can search', async () => {
  const [file, exec] = await send(DOCUMENTED, [SEED_MATCH, EXEC_MATCH]);
  assert.ok(file && exec);
  const searches = datadogSearches();
  assert.ok(searches.length >= 8, 'the cookbook has Datadog searches');
  let attrsChecked = 0;
  let tagsChecked = 0;
  for (const line of searches) {
    for (const [, name] of line.matchAll(/@([a-z_][a-z0-9_.]*[a-z0-9_])/g)) {
      const rec = [file, exec].find((r) => name! in r.attrs);
      assert.ok(rec, `${line}: no record carries ${name}`);
      assert.ok(['string', 'int'].includes(rec.kinds[name!]!), `${line}: ${name} arrives as ${rec.kinds[name!]}, which Datadog shows as JSON text`);
      attrsChecked++;
    }
    // key:value terms without @ are tags (or service, source).
    for (const [, key, value] of line.matchAll(/(?:^|\s)-?([a-z_]+):([^\s@]+)/g)) {
      if (key === 'service') assert.equal(file.resource['service.name'], value, line);
      else if (key === 'source') for (const r of [file, exec]) { assert.equal(r.attrs['ddsource'], value, line); assert.equal(r.attrs['datadog.log.source'], value, line); }
      else if (key! in K8S_TAGS) assert.equal(file.resource[K8S_TAGS[key!]!], value, `${line}: the Resource carries ${K8S_TAGS[key!]}`);
      else {
        const tag = `${key}:${value}`;
        assert.ok([file, exec].some((r) => String(r.attrs['ddtags']).split(',').includes(tag)), `${line}: no record has ${tag} in ddtags (${String(file.attrs['ddtags'])})`);
        tagsChecked++;
      }
    }
  }
  assert.ok(attrsChecked >= 8 && tagsChecked >= 2, `checked ${attrsChecked} attributes and ${tagsChecked} tags`);

  // The exact strings: static tags first, then one tag per policy tag, normalised as documented.
  assert.equal(file.attrs['ddtags'], 'team:security,kubearmor_tag:nist-800,kubearmor_tag:ac-18_1_,kubearmor_tag:networking,kubearmor_tag:access,'
    + 'kubearmor_tag:nist_sa,kubearmor_tag:nist_sa-20,kubearmor_tag:nist_sa-20-customized_development_of_critical_components,kubearmor_tag:sa');
  assert.equal(file.attrs['kubearmor.tags_joined'], SEED_MATCH.decision.tags.join(','));
  assert.equal(file.attrs['kubearmor.atags_joined'], SEED_MATCH.decision.tags.join(','));
  assert.equal(file.attrs['kubearmor.other_policies_joined'], 'ksp-other-1,ksp-other-2');
  assert.equal(exec.attrs['process.command_line'], 'apt update');
  assert.equal(exec.attrs['ddtags'], 'team:security,kubearmor_tag:mitre');
  assert.equal(file.attrs['process.command_line'], undefined, 'file matches have no arguments');
  // The arrays are still there for every other backend.
  assert.deepEqual(file.attrs['kubearmor.tags'], [...SEED_MATCH.decision.tags]);
  assert.equal(file.kinds['kubearmor.tags'], 'array');
  assert.equal(file.resource['k8s.pod.name'], SEED_WORKLOAD.podName);
});

test('without the options no Datadog attribute is added, and the tags arrive as an array (Datadog: JSON text)', async () => {
  const [file, exec] = await send(null, [SEED_MATCH, EXEC_MATCH]);
  assert.ok(file && exec);
  for (const r of [file, exec]) {
    for (const k of ['ddtags', 'ddsource', 'datadog.log.source', 'kubearmor.tags_joined', 'kubearmor.atags_joined', 'kubearmor.other_policies_joined', 'process.command_line']) {
      assert.equal(k in r.attrs, false, `${k} only with an option`);
    }
  }
  assert.equal(file.kinds['kubearmor.tags'], 'array');
  assert.equal(exec.kinds['process.command_args'], 'array');
});

test('a throttling notice carries its per-policy counts as one string too', async () => {
  const ended: Match = { ...SEED_MATCH, throttle: { phase: 'ended', quietMs: 30_000, total: 12, suppressed: [{ policy: 'a', count: 9 }, { policy: 'b', count: 3 }] } };
  const [notice] = await send(DOCUMENTED, [ended]);
  assert.deepEqual(notice?.attrs['armorwatch.throttle.suppressed_by_policy'], ['a=9', 'b=3']);
  assert.equal(notice?.attrs['armorwatch.throttle.suppressed_by_policy_joined'], 'a=9,b=3');
  assert.equal(notice?.kinds['armorwatch.throttle.suppressed_by_policy_joined'], 'string');
});

test('port-scan records get the same: ddtags with the detector\'s tags, the source, string copies of their arrays', async () => {
  const out: ScanDetection[] = [];
  const det = new PortScanDetector({ ...SCAN_DEFAULTS, updateIntervalMs: 60_000 }, (x) => out.push(x));
  for (let p = 1; p <= 200; p++) {
    det.observe(connect({ host: '10.99.0.3', port: p, ms: p }), POD, NODE, p);
    det.observe(outcome({ host: '10.99.0.3', port: p, ms: p, ret: p === 22 ? 0 : -ECONNREFUSED }), POD, NODE, p);
  }
  det.flush();
  const ended = out.find((x) => x.scan.phase === 'ended');
  assert.ok(ended);
  for (const [datadog, id] of [[DOCUMENTED, 'on'], [null, 'off']] as const) {
    const exp = createAlertExporter(settings(datadog), silentLogger);
    const episode: ScanDetection = { ...ended, scan: { ...ended.scan, id: `${ended.scan.id}-${id}` } };
    exp.export(episode);
    await exp.shutdown(5000);
    let rec;
    for (let i = 0; i < 150 && rec === undefined; i++) {
      rec = agent.records().find((r) => r.attributes['armorwatch.scan.id'] === episode.scan.id);
      if (rec === undefined) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(rec, `the ${id} scan record did not arrive`);
    if (datadog === null) {
      for (const k of ['ddtags', 'ddsource', 'armorwatch.scan.ports_joined', 'kubearmor.tags_joined']) assert.equal(k in rec.attributes, false, k);
      continue;
    }
    assert.equal(rec.attributes['ddtags'], 'team:security,kubearmor_tag:portscan,kubearmor_tag:mitre,kubearmor_tag:t1046');
    assert.equal(rec.attributes['ddsource'], 'kubearmor');
    assert.equal(rec.attributes['datadog.log.source'], 'kubearmor');
    assert.equal(rec.attributes['armorwatch.scan.kinds_joined'], 'vertical');
    assert.equal(rec.attributes['armorwatch.scan.hosts_joined'], '10.99.0.3');
    assert.equal(rec.attributes['armorwatch.scan.ports_joined'], (rec.attributes['armorwatch.scan.ports'] as number[]).join(','));
    assert.equal(rec.attributes['armorwatch.scan.open_ports_joined'], '22');
    assert.equal(rec.attributes['kubearmor.tags_joined'], 'PortScan,MITRE,T1046');
  }
});

test('--datadog-tags alone gives ddtags with just those tags; --datadog-source alone just the source', async () => {
  const [tagsOnly, sourceOnly] = [
    (await send({ tags: ['team:security', 'env:prod'], attributes: false }, [SEED_MATCH]))[0],
    (await send({ source: 'armorwatch', tags: [], attributes: false }, [SEED_MATCH]))[0],
  ];
  assert.equal(tagsOnly?.attrs['ddtags'], 'team:security,env:prod');
  assert.equal('kubearmor.tags_joined' in (tagsOnly?.attrs ?? {}), false);
  assert.equal('ddsource' in (tagsOnly?.attrs ?? {}), false);
  assert.equal(sourceOnly?.attrs['ddsource'], 'armorwatch');
  assert.equal(sourceOnly?.attrs['datadog.log.source'], 'armorwatch');
  assert.equal('ddtags' in (sourceOnly?.attrs ?? {}), false);
});
