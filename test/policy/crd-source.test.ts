// Policies from KubeArmor's custom resources (src/policy/crd-source.ts) through a real kube-apiserver
// with KubeArmor's CRDs installed, read under the agent's own service account with exactly the RBAC
// of deploy/overlays/kubearmor-crds: created, updated and deleted objects reach the engine as
// reloads; an object the server accepts but armorwatch rejects is reported with its kind,
// namespace/name and field path while the last good version stays in force; policies mounted as
// files and policies from the API are in force together; an API server restart loses nothing.
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parse } from 'yaml';
import { parseRunConfig } from '../../src/config/parse.ts';
import { UsageError } from '../../src/errors.ts';
import { CrdPolicySource } from '../../src/policy/crd-source.ts';
import { PolicyStore, type ReloadEvent } from '../../src/policy/watch.ts';
import { policyKey } from '../../src/policy/types.ts';
import { controlPlaneUnavailableReason, needsControlPlane, startControlPlane, type ControlPlane, type KubeObject } from '../helpers/kube-apiserver.ts';
import { agentIdentity, installKubeArmorCrds } from '../helpers/kube-objects.ts';
import { render, requireKubectl } from '../deploy/render.ts';
import { sharedDir } from './shared-dir.ts';
import { freePort } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';
import { waitFor } from '../helpers/wait.ts';

const SEED = parse(readFileSync(fileURLToPath(new URL('../fixtures/seed/ksp-nist-ac-18-1-network-audit.yaml', import.meta.url)), 'utf8')) as KubeObject & { spec: Record<string, unknown> };
const SEED_KEY = policyKey('KubeArmorPolicy', 'wordpress-mysql', 'ksp-nist-ac-18-1-network-audit');

// What the API server accepts but armorwatch rejects. The oracle (apiserver-oracle.test.ts) finds no
// schema difference on the corpus; what remains are armorwatch's own bounds on hostile input: a
// policy over 1 MiB as YAML (5,400 paths of 190 characters: about 1.1 MB as YAML and as the JSON the
// server keeps, under etcd's 1.5 MiB). A whole-document problem has the empty field path.
const BIG_PATHS = Array.from({ length: 5_400 }, (_, i) => ({ path: `/p/${String(i).padStart(5, '0')}/${'x'.repeat(181)}` }));
const INVALID_PATCH = { spec: { file: { matchPaths: BIG_PATHS } } };
const INVALID_FIX = { spec: { file: SEED.spec.file } };
const INVALID_PATH = '';
const INVALID_MESSAGE = /^file too large \(\d+ bytes; the limit is 1048576\)$/;

let cp: ControlPlane | null = null;
let kubeconfig = '';
before(async () => {
  if (controlPlaneUnavailableReason() !== null) return;
  cp = await startControlPlane();
  await installKubeArmorCrds(cp, join(sharedDir(), 'policies', 'crd'));
  await cp.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'wordpress-mysql' } });
  requireKubectl();
  // The overlay's read-only ClusterRole and its binding, then the base's ServiceAccount and a token.
  for (const o of render('deploy/overlays/kubearmor-crds') as KubeObject[]) {
    if (o.metadata.name === 'armorwatch-kubearmor-policies') await cp.create(o);
  }
  kubeconfig = (await agentIdentity(cp)).kubeconfig;
});
after(async () => { await cp?.stop(); });

/** The severities of the seed policy's rules in force. */
const seedSeverities = (store: PolicyStore): number[] => [...new Set(store.engine.rules.filter((r) => r.policy.name === SEED.metadata.name).map((r) => r.severity))];
/** Keys of the policies in force. */
const inForce = (store: PolicyStore): string[] => [...new Set(store.engine.rules.map((r) => policyKey(r.policy.kind, r.policy.namespace, r.policy.name)))].sort();

/** Waits for the next reload that satisfies `cond`. */
function reloadWhere(store: PolicyStore, what: string, cond: (ev: ReloadEvent) => boolean, ms = 20_000): Promise<ReloadEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reload with ${what} within ${ms} ms`)), ms);
    store.onReload((ev) => { if (cond(ev)) { clearTimeout(timer); resolve(ev); } });
  });
}

test('KubeArmor policies from the API: create, update, an invalid object, delete, beside files, across an API server restart', async (t) => {
  if (!needsControlPlane(t) || cp === null) return;
  const api = cp;
  const dir = mkdtempSync(join(tmpdir(), 'aw-crd-'));
  writeFileSync(join(dir, 'host.yaml'), 'apiVersion: security.kubearmor.com/v1\nkind: KubeArmorHostPolicy\nmetadata:\n  name: hsp-from-file\nspec:\n  nodeSelector:\n    matchLabels:\n      kubernetes.io/hostname: n1\n  file:\n    matchPaths:\n      - path: /etc/shadow\n  action: Audit\n');
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => { logs.push(JSON.parse(s) as Record<string, unknown>); } });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const store = new PolicyStore({ paths: [dir], logger, debounceMs: 50, rescanMs: 60_000, sources: [new CrdPolicySource(kc, { logger, retryMs: 100 })] });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  // Created before the agent starts: in force from the first load, together with the file's policy.
  await api.create(SEED);
  const first = await store.start();
  assert.deepEqual(first.added, [policyKey('KubeArmorHostPolicy', undefined, 'hsp-from-file'), SEED_KEY]);
  assert.deepEqual(first.rejected, []);
  assert.ok(logs.some((l) => l.msg === 'policies loaded' && (l.added as string[]).includes(SEED_KEY)), 'the reload line names the policy');

  await t.test('a policy created while running is added; one updated is updated', async () => {
    const added = reloadWhere(store, 'csp-e2e added', (ev) => ev.added.includes(policyKey('KubeArmorClusterPolicy', undefined, 'csp-e2e')));
    await api.create({ apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorClusterPolicy', metadata: { name: 'csp-e2e' },
      spec: { selector: { matchExpressions: [{ key: 'namespace', operator: 'In', values: ['wordpress-mysql'] }] }, file: { matchPaths: [{ path: '/etc/passwd' }] }, action: 'Audit' } });
    assert.equal((await added).policies, 3);
    const updated = reloadWhere(store, 'the seed updated', (ev) => ev.updated.includes(SEED_KEY));
    await api.patch(SEED, { spec: { severity: 7 } });
    await updated;
    assert.deepEqual(seedSeverities(store), [7]);
  });

  await t.test('an object the server accepts but armorwatch rejects: reported with namespace/name and field path, last good version kept', async () => {
    const rejected = reloadWhere(store, 'a rejected document', (ev) => ev.rejected.length > 0);
    await api.patch(SEED, INVALID_PATCH);
    const ev = await rejected;
    assert.equal(ev.rejected.length, 1);
    const r = ev.rejected[0]!;
    assert.equal(r.file, 'kubernetes:KubeArmorPolicy/wordpress-mysql/ksp-nist-ac-18-1-network-audit');
    assert.equal(r.keptPrevious, true);
    assert.equal(r.problems[0]!.path, INVALID_PATH);
    assert.match(r.problems[0]!.message, INVALID_MESSAGE);
    assert.deepEqual(seedSeverities(store), [7], 'the last good version is in force');
    const line = logs.find((l) => l.level === 40 && l.file === r.file && String(l.msg).startsWith(`${r.file}:`));
    assert.ok(line, 'a warning names the object');
    assert.equal(line.field, INVALID_PATH);
    // Fixed again: the new version replaces the kept one.
    const fixed = reloadWhere(store, 'the seed fixed', (ev) => ev.rejected.length === 0 && ev.updated.includes(SEED_KEY));
    await api.patch(SEED, INVALID_FIX);
    await fixed;
  });

  await t.test('a deleted policy is removed', async () => {
    const removed = reloadWhere(store, 'csp-e2e removed', (ev) => ev.removed.includes(policyKey('KubeArmorClusterPolicy', undefined, 'csp-e2e')));
    await api.delete({ apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorClusterPolicy', metadata: { name: 'csp-e2e' } });
    assert.equal((await removed).policies, 2);
  });

  await t.test('the API server stopped and back: the policies stay in force, and later changes arrive', async () => {
    await api.stopApiServer();
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(inForce(store), [policyKey('KubeArmorHostPolicy', undefined, 'hsp-from-file'), SEED_KEY]);
    await api.startApiServer();
    const added = reloadWhere(store, 'hsp-after-restart added', (ev) => ev.added.includes(policyKey('KubeArmorHostPolicy', undefined, 'hsp-after-restart')), 60_000);
    await api.create({ apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorHostPolicy', metadata: { name: 'hsp-after-restart' },
      spec: { nodeSelector: { matchLabels: { 'kubernetes.io/hostname': 'n1' } }, file: { matchPaths: [{ path: '/etc/gshadow' }] }, action: 'Audit' } });
    assert.equal((await added).policies, 3);
    assert.ok(logs.some((l) => l.msg === 'policy watch failed; retrying (the policies in force stay)'), 'the outage was logged');
  });
});

test('--policy-crds: --policies becomes optional; without either the agent refuses to start', () => {
  const r = parseRunConfig(['--policy-crds'], {});
  assert.ok(!r.help && r.config.policyCrds === true && r.config.policies.length === 0);
  const env = parseRunConfig([], { ARMORWATCH_POLICY_CRDS: 'true', ARMORWATCH_POLICIES: '/etc/p' });
  assert.ok(!env.help && env.config.policyCrds === true && env.config.policies[0] === '/etc/p', 'both on together');
  assert.throws(() => parseRunConfig([], {}), (err: unknown) => err instanceof UsageError && /--policy-crds/.test(err.message));
});

test('the agent with --policy-crds alone: the same reload log line and policy metrics as for files', async (t) => {
  if (!needsControlPlane(t) || !needsBpf(t) || cp === null) return;
  const api = cp;
  const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const POLICY = { apiVersion: 'security.kubearmor.com/v1', kind: 'KubeArmorHostPolicy', metadata: { name: 'hsp-agent-metrics' },
    spec: { nodeSelector: { matchLabels: { 'kubernetes.io/hostname': 'n1' } }, file: { matchPaths: [{ path: '/etc/hostname' }] }, action: 'Audit' } };
  const key = policyKey('KubeArmorHostPolicy', undefined, 'hsp-agent-metrics');
  const port = await freePort();
  let stderr = '';
  const agent = spawn(process.execPath, [MAIN, 'run', '--policy-crds', '--exporter', 'stdout', '--health-addr', `127.0.0.1:${port}`,
    '--scan-detection=false', '--shutdown-deadline', '5s'], { env: { ...process.env, KUBECONFIG: kubeconfig, ARMORWATCH_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  agent.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  t.after(() => { agent.kill('SIGKILL'); });
  const log = () => ({ detail: () => `the agent said:\n${stderr.slice(-3000)}` });
  await waitFor('/readyz', 90_000, async () => {
    try { return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined; } catch { return undefined; }
  }, log());
  const lines = (): Array<Record<string, unknown>> => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const gauge = async (name: string): Promise<number | undefined> => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    return m === null ? undefined : Number(m[1]);
  };
  const loadedBefore = await waitFor('armorwatch_policy_loaded', 10_000, () => gauge('armorwatch_policy_loaded'), log());
  const reloadsBefore = (await gauge('armorwatch_policy_reloads_total')) ?? 0;

  // Created while the agent runs: the reload line names it, the gauge counts it.
  await api.create(POLICY);
  const line = await waitFor('the reload line naming the new policy', 20_000,
    () => lines().find((l) => l.msg === 'policies in force' && (l.added as string[] | undefined)?.includes(key)), log());
  assert.equal(line.policies, loadedBefore + 1);
  await waitFor('armorwatch_policy_loaded one more', 10_000, async () => ((await gauge('armorwatch_policy_loaded')) === loadedBefore + 1 ? true : undefined), log());
  assert.ok(((await gauge('armorwatch_policy_reloads_total')) ?? 0) > reloadsBefore, 'the reload is counted');

  // Made invalid: rejected and named, the last good version kept, the rejected gauge says so.
  await api.patch(POLICY as KubeObject, INVALID_PATCH);
  const rejected = await waitFor('the rejection naming the object', 20_000,
    () => lines().find((l) => l.level === 'error' && l.file === `kubernetes:KubeArmorHostPolicy/hsp-agent-metrics` && String(l.msg).startsWith('policy rejected: ')), log());
  assert.equal(rejected.keptPrevious, true);
  await waitFor('armorwatch_policy_rejected 1', 10_000, async () => ((await gauge('armorwatch_policy_rejected')) === 1 ? true : undefined), log());
  assert.equal(await gauge('armorwatch_policy_loaded'), loadedBefore + 1, 'the last good version stays counted in force');
  await api.delete(POLICY as KubeObject);
  await waitFor('armorwatch_policy_loaded back', 20_000, async () => ((await gauge('armorwatch_policy_loaded')) === loadedBefore ? true : undefined), log());
});
