// A real Kubernetes control plane for tests: etcd (Debian's etcd-server) and kube-apiserver (built
// from the pinned k8s.io/kubernetes module by k8s/build.sh, cached) on 127.0.0.1 with TLS, RBAC and
// an admin token; a kubeconfig for the tests; the API server stopped and started again on the same
// port; an etcd compaction (with the watch cache off, old resourceVersions then get 410 Gone).
// Everything started here is stopped by stop(), and killed at process exit if a test crashed first.
// Every wait is bounded.
import type { TestContext } from 'node:test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './collector.ts';
import { REQUIRE_BPF } from './privileges.ts';

const BUILD_SH = fileURLToPath(new URL('../../k8s/build.sh', import.meta.url));
const ETCD = '/usr/bin/etcd';
export const ADMIN_TOKEN = 'armorwatch-test-admin';

/** Why a control plane cannot run here, or null when it can (the binaries are built on first use). */
export function controlPlaneUnavailableReason(): string | null {
  if (!existsSync(ETCD)) return `${ETCD} is not installed (Debian etcd-server; scripts/setup.sh --with-test-deps)`;
  if (!existsSync('/usr/bin/openssl')) return '/usr/bin/openssl is not installed';
  return null;
}

/** Skips, or fails under ARMORWATCH_REQUIRE_BPF=1 (CI). Usage: `if (!needsControlPlane(t)) return;` */
export function needsControlPlane(t: TestContext): boolean {
  const why = controlPlaneUnavailableReason();
  if (why === null) return true;
  if (REQUIRE_BPF) throw new Error(`this test needs a Kubernetes control plane and ARMORWATCH_REQUIRE_BPF=1: ${why}`);
  t.skip(why);
  return false;
}

const PROMETHEUS_OPERATOR_CRDS_SH = fileURLToPath(new URL('../../k8s/prometheus-operator-crds.sh', import.meta.url));
let promCrdDir: string | undefined;
/** Folder of the Prometheus Operator's CRD files (the pinned Go module, fetched once into Go's module cache). */
export function prometheusOperatorCrdDir(): string {
  promCrdDir ??= execFileSync('bash', [PROMETHEUS_OPERATOR_CRDS_SH], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return promCrdDir;
}

let binDir: string | undefined;
/** Folder holding kube-apiserver and kube-controller-manager; builds them on first use (minutes, cold). */
export function kubeBinaries(): string {
  binDir ??= execFileSync('bash', [BUILD_SH], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return binDir;
}

export interface ApiResponse<T = Record<string, unknown>> { readonly status: number; readonly body: T }

export interface RequestOptions {
  readonly body?: unknown;
  /** Content type of the body (default application/json; merge patches: application/merge-patch+json). */
  readonly contentType?: string;
  /** Bearer token (default the admin token). */
  readonly token?: string;
  readonly timeoutMs?: number;
}

const live = new Set<ChildProcess>();
process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });

function spawnLogged(bin: string, args: string[], logFile: string): ChildProcess {
  const log = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `ms`; resolves when the process is gone. */
async function terminate(child: ChildProcess, ms = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await gone;
  clearTimeout(timer);
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a serving certificate for 127.0.0.1 signed by it, and the service-account key pair. */
function makeCerts(dir: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=armorwatch-test-ca');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver');
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  openssl(dir, 'genrsa', '-out', 'sa.key', '2048');
  openssl(dir, 'rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

export interface ControlPlaneOptions {
  /** Serve watches from etcd directly (`--watch-cache=false`), so a compaction makes old resourceVersions 410 Gone. */
  readonly watchCache?: boolean;
  /** Extra kube-apiserver flags. */
  readonly apiServerArgs?: readonly string[];
  /** Admission plugins to turn off besides ServiceAccount (no controller-manager mints its tokens here). */
  readonly disableAdmission?: readonly string[];
  /** Keep an audit log (request metadata of every request), read back with auditEvents(). */
  readonly audit?: boolean;
}

/** One entry of the API server's audit log (the fields tests look at). */
export interface AuditEvent {
  readonly stage: string;
  readonly stageTimestamp: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string };
  readonly objectRef?: { readonly resource?: string; readonly namespace?: string; readonly name?: string };
  readonly responseStatus?: { readonly code?: number };
}

export class ControlPlane {
  readonly dir: string;
  readonly port: number;
  readonly etcdPort: number;
  readonly caFile: string;
  /** Admin kubeconfig (group system:masters). */
  readonly kubeconfig: string;
  readonly #args: string[];
  #etcd: ChildProcess | null = null;
  #api: ChildProcess | null = null;
  readonly #ca: Buffer;
  readonly #paths = new Map<string, { path: string; namespaced: boolean }>();

  constructor(dir: string, port: number, etcdPort: number, opts: ControlPlaneOptions) {
    this.dir = dir;
    this.port = port;
    this.etcdPort = etcdPort;
    this.caFile = join(dir, 'ca.crt');
    this.#ca = readFileSync(this.caFile);
    this.kubeconfig = this.writeKubeconfig(ADMIN_TOKEN, join(dir, 'admin.kubeconfig'));
    this.#args = [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${port}`,
      `--tls-cert-file=${join(dir, 'server.crt')}`, `--tls-private-key-file=${join(dir, 'server.key')}`,
      `--client-ca-file=${this.caFile}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/24', '--endpoint-reconciler-type=none',
      // No kube-controller-manager runs: Pods name no service account token to mount.
      `--disable-admission-plugins=${['ServiceAccount', ...(opts.disableAdmission ?? [])].join(',')}`,
      '--profiling=false',
      ...(opts.watchCache === false ? ['--watch-cache=false'] : []),
      ...(opts.audit === true ? [`--audit-policy-file=${join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${join(dir, 'audit.log')}`] : []),
      ...(opts.apiServerArgs ?? []),
    ];
  }

  get url(): string { return `https://127.0.0.1:${this.port}`; }

  /** Writes a kubeconfig that reaches this API server (verifying its CA) with `token`; returns its path. */
  writeKubeconfig(token: string, path = join(this.dir, `kubeconfig-${token.slice(-12).replace(/[^\w-]/g, '_')}`)): string {
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', 'current-context: test',
      'clusters:', '- name: test', '  cluster:', `    server: ${this.url}`, `    certificate-authority: ${this.caFile}`,
      'contexts:', '- name: test', '  context:', '    cluster: test', '    user: test',
      'users:', '- name: test', '  user:', `    token: ${token}`, '',
    ].join('\n'));
    return path;
  }

  async startEtcd(): Promise<void> {
    const peer = await freePort();
    const url = `http://127.0.0.1:${this.etcdPort}`;
    this.#etcd = spawnLogged(ETCD, [
      '--name=armorwatch-test', `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=armorwatch-test=http://127.0.0.1:${peer}`,
    ], join(this.dir, 'etcd.log'));
    await this.#until('etcd to answer', 30_000, this.#etcd, async () => {
      try { return (await fetch(`${url}/health`)).ok; } catch { return false; }
    });
  }

  /** Starts kube-apiserver (again, on the same port) and waits until /readyz says ok. */
  async startApiServer(): Promise<void> {
    const bin = join(kubeBinaries(), 'kube-apiserver');
    this.#api = spawnLogged(bin, this.#args, join(this.dir, 'kube-apiserver.log'));
    await this.#until('kube-apiserver /readyz', 90_000, this.#api, async () => {
      try { return (await this.request('GET', '/readyz', { timeoutMs: 2000 })).status === 200; } catch { return false; }
    });
  }

  /** Stops kube-apiserver like a crash or an upgrade would: watches cut, connections refused. etcd keeps the state. */
  async stopApiServer(): Promise<void> {
    const api = this.#api;
    this.#api = null;
    if (api !== null) await terminate(api);
  }

  async stop(): Promise<void> {
    await this.stopApiServer();
    if (this.#etcd !== null) await terminate(this.#etcd);
    this.#etcd = null;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Compacts etcd's history up to now: watches and exact lists at older resourceVersions get 410 Gone (watch cache off). */
  async compact(): Promise<number> {
    const base = `http://127.0.0.1:${this.etcdPort}/v3/kv`;
    const range = await fetch(`${base}/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) });
    const revision = Number(((await range.json()) as { header: { revision: string } }).header.revision);
    const res = await fetch(`${base}/compaction`, { method: 'POST', body: JSON.stringify({ revision, physical: true }) });
    if (!res.ok) throw new Error(`etcd compaction: ${res.status} ${await res.text()}`);
    return revision;
  }

  /** The audit log so far (needs `audit: true`), in order. */
  auditEvents(): AuditEvent[] {
    let text = '';
    try { text = readFileSync(join(this.dir, 'audit.log'), 'utf8'); } catch { return []; }
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AuditEvent);
  }

  /** Log of kube-apiserver so far (for assertion messages). */
  apiServerLog(): string {
    try { return readFileSync(join(this.dir, 'kube-apiserver.log'), 'utf8'); } catch { return ''; }
  }

  /** One HTTPS request to the API server; the body is parsed as JSON when it is JSON. */
  request<T = Record<string, unknown>>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1', port: this.port, method, path, ca: this.#ca, timeout: opts.timeoutMs ?? 20_000,
        headers: {
          authorization: `Bearer ${opts.token ?? ADMIN_TOKEN}`, accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': opts.contentType ?? 'application/json' }),
        },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { text += d; });
        res.on('end', () => {
          let parsed: unknown = text;
          try { parsed = JSON.parse(text); } catch { /* not JSON (e.g. /readyz) */ }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${opts.timeoutMs ?? 20_000} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Like request(), but throws with the server's message unless the status is 2xx. */
  async ok<T = Record<string, unknown>>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request<T>(method, path, opts);
    if (res.status < 200 || res.status > 299) {
      throw new Error(`${method} ${path}: ${res.status} ${(res.body as { message?: string })?.message ?? JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  /** REST path of a kind's collection (discovered from the server, so custom resources work too). */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const key = `${apiVersion}/${kind}`;
    let found = this.#paths.get(key);
    if (found === undefined) {
      const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const list = await this.ok<{ resources: Array<{ name: string; kind: string; namespaced: boolean }> }>('GET', base);
      for (const r of list.resources) if (!r.name.includes('/')) this.#paths.set(`${apiVersion}/${r.kind}`, { path: `${base}/${r.name}`, namespaced: r.namespaced });
      found = this.#paths.get(key);
      if (found === undefined) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    }
    if (!found.namespaced) return found.path;
    if (namespace === undefined) throw new Error(`${kind} is namespaced: give a namespace`);
    const [prefix, plural] = [found.path.slice(0, found.path.lastIndexOf('/')), found.path.slice(found.path.lastIndexOf('/') + 1)];
    return `${prefix}/namespaces/${namespace}/${plural}`;
  }

  /** Path of one object. */
  async objectPath(o: KubeObject): Promise<string> {
    return `${await this.collectionPath(o.apiVersion, o.kind, o.metadata.namespace)}/${o.metadata.name}`;
  }

  /** Creates an object; returns it as stored (with uid and resourceVersion). */
  async create<T extends KubeObject>(o: T, query = ''): Promise<T> {
    return this.ok<T>('POST', `${await this.collectionPath(o.apiVersion, o.kind, o.metadata.namespace)}${query}`, { body: o });
  }

  /** JSON merge patch of an object (`subresource` e.g. 'status'). */
  async patch<T extends KubeObject>(o: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>, patch: unknown, subresource = ''): Promise<T> {
    const path = `${await this.objectPath(o as KubeObject)}${subresource === '' ? '' : `/${subresource}`}`;
    return this.ok<T>('PATCH', path, { body: patch, contentType: 'application/merge-patch+json' });
  }

  /** Deletes an object at once (grace period 0: no kubelet is there to finish the job). */
  async delete(o: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<void> {
    await this.ok('DELETE', await this.objectPath(o as KubeObject), { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } });
  }

  async #until(what: string, ms: number, child: ChildProcess, cond: () => Promise<boolean>): Promise<void> {
    for (const end = Date.now() + ms; ;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode}); logs in ${this.dir}:\n${this.apiServerLog().slice(-2000)}`);
      if (await cond()) return;
      if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms; logs in ${this.dir}`);
      await sleep(100);
    }
  }
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: OwnerReference[]; [k: string]: unknown };
  [k: string]: unknown;
}

export interface OwnerReference { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }

/** An ownerReference naming `owner` as the controller, as Kubernetes' controllers write it. */
export const controllerRef = (owner: KubeObject): OwnerReference => ({
  apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true,
});

/**
 * etcd + kube-apiserver in a fresh temporary folder on free loopback ports, ready. The caller stops it
 * (stop() also removes the folder); a failure while starting stops what had started.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'aw-kube-'));
  makeCerts(dir);
  writeFileSync(join(dir, 'audit-policy.yaml'), 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n');
  writeFileSync(join(dir, 'tokens.csv'), `${ADMIN_TOKEN},armorwatch-test-admin,admin-uid,"system:masters"\n`);
  const cp = new ControlPlane(dir, await freePort(), await freePort(), opts);
  try {
    await cp.startEtcd();
    await cp.startApiServer();
  } catch (err) {
    const log = cp.apiServerLog().slice(-3000);
    await cp.stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return cp;
}
