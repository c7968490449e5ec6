// onChange tells the policy engine to redo its selections: once per burst, not once per object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnricher } from '../../src/enrich/index.ts';
import { silentLogger } from '../../src/log.ts';
import { FakeApiServer } from '../k8s-api/server.ts';
import { findObject, loadFixture } from '../k8s-api/fixtures.ts';
import { defer } from '../helpers/cleanup.ts';

test('a burst of pod changes reaches onChange listeners as a few calls, and each change is seen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-onchange-'));
  const api = new FakeApiServer();
  await api.start();
  const fixtures = loadFixture('wordpress.yaml');
  for (const o of fixtures) api.add(o);
  api.writeKubeconfig(join(dir, 'kubeconfig'));
  const enricher = createEnricher({
    logger: silentLogger, nodeName: 'gke-cluster-1-default-pool-37f4c896-8cn6', kubernetes: 'auto',
    kubeconfig: join(dir, 'kubeconfig'), containerdSocket: join(dir, 'none.sock'), retryMs: 100,
  });
  defer(t, 'remove dir', () => rmSync(dir, { recursive: true, force: true }));
  defer(t, 'api.stop', () => api.stop());
  defer(t, 'enricher.close', () => enricher.close());
  assert.equal(await enricher.waitForKubernetes(10_000), true);
  let calls = 0;
  enricher.onChange(() => { calls++; });
  const template = findObject(fixtures, 'Pod', 'wordpress-7c966b5d85-wvtln');
  for (let i = 0; i < 50; i++) {
    const pod = structuredClone(template);
    pod.metadata.name = `wordpress-7c966b5d85-${String(i).padStart(5, '0')}`;
    delete pod.metadata.uid;
    api.add(pod);
  }
  const end = Date.now() + 10_000;
  while ((enricher.stats().kubernetes?.pods ?? 0) < 51 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setImmediate(r));
  assert.equal(enricher.stats().kubernetes?.pods, 51);
  assert.ok(calls >= 1, 'listeners heard of the new pods');
  assert.ok(calls < 50, `listeners were called ${calls} times for 50 pods`);
});
