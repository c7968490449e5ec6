// A STAND-IN for kube-apiserver, for tests only. It predates the real control plane
// (test/helpers/kube-apiserver.ts: etcd + kube-apiserver, which the Kubernetes-side tests, deploy/
// checks and every e2e scenario use). One test still uses it, for a case the real server cannot
// give on demand (docs/KUBERNETES.md): test/enrich/onchange.test.ts needs 50 pod changes delivered
// back to back on one watch stream, which a real server delivers with its own timing. It serves the part of the
// real HTTP protocol that @kubernetes/client-node's informers and readers use — lists with
// metadata.resourceVersion, single-object GETs, watch streams (JSON lines of ADDED/MODIFIED/
// DELETED/ERROR), field and label selectors, and 410 Gone (reason Expired) for resource versions
// older than the compacted history. Plain HTTP on loopback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, SelectorError, type Obj } from './selectors.ts';

interface Resource { readonly prefix: string; readonly plural: string; readonly kind: string; readonly apiVersion: string; readonly namespaced: boolean }

export const RESOURCES: readonly Resource[] = [
  { prefix: '/api/v1', plural: 'pods', kind: 'Pod', apiVersion: 'v1', namespaced: true },
  { prefix: '/api/v1', plural: 'nodes', kind: 'Node', apiVersion: 'v1', namespaced: false },
  { prefix: '/api/v1', plural: 'namespaces', kind: 'Namespace', apiVersion: 'v1', namespaced: false },
  { prefix: '/apis/apps/v1', plural: 'replicasets', kind: 'ReplicaSet', apiVersion: 'apps/v1', namespaced: true },
  { prefix: '/apis/apps/v1', plural: 'deployments', kind: 'Deployment', apiVersion: 'apps/v1', namespaced: true },
  { prefix: '/apis/apps/v1', plural: 'statefulsets', kind: 'StatefulSet', apiVersion: 'apps/v1', namespaced: true },
  { prefix: '/apis/apps/v1', plural: 'daemonsets', kind: 'DaemonSet', apiVersion: 'apps/v1', namespaced: true },
  { prefix: '/apis/batch/v1', plural: 'jobs', kind: 'Job', apiVersion: 'batch/v1', namespaced: true },
  { prefix: '/apis/batch/v1', plural: 'cronjobs', kind: 'CronJob', apiVersion: 'batch/v1', namespaced: true },
];

type KObj = Obj & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; uid: string; resourceVersion: string; creationTimestamp: string; labels?: Record<string, string> } };
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface HistoryEntry { readonly rv: number; readonly type: EventType; readonly res: Resource; readonly obj: KObj; readonly prev: KObj | null }
interface Watcher { readonly res: Resource; readonly ns: string | null; readonly match: (o: KObj) => boolean; readonly out: ServerResponse; readonly bookmarks: boolean }

const clone = <T>(o: T): T => structuredClone(o);
const keyOf = (o: { metadata: { namespace?: string; name: string } }) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FakeApiServer {
  #server: Server | null = null;
  #port = 0;
  readonly #sockets = new Set<Socket>();
  readonly #store = new Map<Resource, Map<string, KObj>>(RESOURCES.map((r) => [r, new Map()]));
  #history: HistoryEntry[] = [];
  #rv = 100;
  /** Watches and exact lists from a version at or below this get 410 Gone. */
  #compactedRv = 100;
  readonly #watchers = new Set<Watcher>();
  /** Every request served, as `METHOD path?query`, for tests that check what the client did. */
  readonly requests: string[] = [];

  get port(): number { return this.#port; }
  get url(): string { return `http://127.0.0.1:${this.#port}`; }
  get resourceVersion(): number { return this.#rv; }
  get openWatches(): number { return this.#watchers.size; }

  /** Listens on 127.0.0.1 (a free port the first time, the same port after stop()). */
  async start(): Promise<void> {
    if (this.#server !== null) return;
    const server = createServer((req, res) => this.#handle(req, res));
    server.on('connection', (s) => { this.#sockets.add(s); s.on('close', () => this.#sockets.delete(s)); });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Goes away like a crashed API server: open watches are cut, new connections refused. State is kept. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    this.#watchers.clear();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Sends a BOOKMARK (the current resourceVersion) to every watch that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      w.out.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: w.res.kind, apiVersion: w.res.apiVersion, metadata: { resourceVersion: String(this.#rv) } } })}\n`);
    }
  }

  /** Forgets all history: watches that resume from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.#history = [];
    this.#compactedRv = this.#rv;
  }

  writeKubeconfig(path: string): void {
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', 'current-context: test',
      // client-node refuses plain http unless TLS verification is off for the cluster.
      'clusters:', '- name: test', '  cluster:', `    server: ${this.url}`, '    insecure-skip-tls-verify: true',
      'contexts:', '- name: test', '  context:', '    cluster: test', '    user: test',
      'users:', '- name: test', '  user:', '    token: test-token', '',
    ].join('\n'));
  }

  add(obj: Record<string, unknown>): KObj {
    const o = clone(obj) as KObj;
    const res = this.#resourceOf(o);
    const map = this.#store.get(res)!;
    if (map.has(keyOf(o))) throw new Error(`${o.kind} ${keyOf(o)} already exists`);
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    o.metadata.resourceVersion = String(++this.#rv);
    map.set(keyOf(o), o);
    this.#emit({ rv: this.#rv, type: 'ADDED', res, obj: o, prev: null });
    return clone(o);
  }

  /** Replaces an object (found by kind, namespace, name); uid and creationTimestamp are kept. */
  update(obj: Record<string, unknown>): KObj {
    const o = clone(obj) as KObj;
    const res = this.#resourceOf(o);
    const map = this.#store.get(res)!;
    const prev = map.get(keyOf(o));
    if (prev === undefined) throw new Error(`${o.kind} ${keyOf(o)} not found`);
    o.metadata.uid = prev.metadata.uid;
    o.metadata.creationTimestamp = prev.metadata.creationTimestamp;
    o.metadata.resourceVersion = String(++this.#rv);
    map.set(keyOf(o), o);
    this.#emit({ rv: this.#rv, type: 'MODIFIED', res, obj: o, prev });
    return clone(o);
  }

  remove(kind: string, namespace: string | undefined, name: string): void {
    const res = RESOURCES.find((r) => r.kind === kind);
    if (res === undefined) throw new Error(`unknown kind ${kind}`);
    const map = this.#store.get(res)!;
    const key = `${namespace ?? ''}/${name}`;
    const prev = map.get(key);
    if (prev === undefined) throw new Error(`${kind} ${key} not found`);
    map.delete(key);
    const o = clone(prev);
    o.metadata.resourceVersion = String(++this.#rv);
    this.#emit({ rv: this.#rv, type: 'DELETED', res, obj: o, prev });
  }

  get(kind: string, namespace: string | undefined, name: string): KObj | undefined {
    const res = RESOURCES.find((r) => r.kind === kind);
    const o = res === undefined ? undefined : this.#store.get(res)!.get(`${namespace ?? ''}/${name}`);
    return o === undefined ? undefined : clone(o);
  }

  #resourceOf(o: KObj): Resource {
    const res = RESOURCES.find((r) => r.kind === o.kind && r.apiVersion === o.apiVersion);
    if (res === undefined) throw new Error(`unsupported object ${o.apiVersion} ${o.kind}`);
    if (res.namespaced !== (o.metadata.namespace !== undefined)) throw new Error(`${o.kind} ${o.metadata.name}: metadata.namespace ${res.namespaced ? 'required' : 'not allowed'}`);
    return res;
  }

  #emit(e: HistoryEntry): void {
    this.#history.push(e);
    for (const w of this.#watchers) this.#send(w, e);
  }

  // Selector semantics of a watch: an update that makes an object stop (start) matching is
  // delivered as DELETED (ADDED), as the real API server does.
  #send(w: Watcher, e: HistoryEntry): void {
    if (w.res !== e.res || (w.ns !== null && e.obj.metadata.namespace !== w.ns)) return;
    const now = w.match(e.obj);
    const before = e.prev !== null && e.type !== 'DELETED' && w.match(e.prev);
    let type: EventType | null = null;
    if (e.type === 'DELETED') type = now ? 'DELETED' : null;
    else if (e.type === 'ADDED') type = now ? 'ADDED' : null;
    else type = now ? (before ? 'MODIFIED' : 'ADDED') : before ? 'DELETED' : null;
    if (type !== null) w.out.write(`${JSON.stringify({ type, object: e.obj })}\n`);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') { reply(405, status(405, 'MethodNotAllowed', `${req.method} is not supported by the test API server`)); return; }
    const route = this.#route(url.pathname);
    if (route === null) { reply(404, status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`)); return; }
    const { res: r, ns, name } = route;
    if (name !== null) {
      const o = this.#store.get(r)!.get(`${ns ?? ''}/${name}`);
      if (o === undefined) reply(404, status(404, 'NotFound', `${r.plural} "${name}" not found`));
      else reply(200, o);
      return;
    }
    let match: (o: KObj) => boolean;
    try {
      const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
      const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
      match = (o) => matchesFields(o, fields) && matchesLabels(o, labels);
    } catch (err) {
      if (err instanceof SelectorError) { reply(400, status(400, 'BadRequest', err.message)); return; }
      throw err;
    }
    const rvParam = url.searchParams.get('resourceVersion') ?? '';
    const watch = url.searchParams.get('watch');
    const inScope = (o: KObj) => (ns === null || o.metadata.namespace === ns) && match(o);
    if (watch === 'true' || watch === '1') { this.#watch(r, ns, match, inScope, rvParam, url, res); return; }
    if (url.searchParams.get('resourceVersionMatch') === 'Exact' && rvParam !== '' && Number(rvParam) < this.#compactedRv) {
      reply(410, status(410, 'Expired', `too old resource version: ${rvParam} (${this.#compactedRv})`));
      return;
    }
    // Items of a real list carry neither kind nor apiVersion; the list does.
    const items = [...this.#store.get(r)!.values()].filter(inScope).map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    reply(200, { kind: `${r.kind}List`, apiVersion: r.apiVersion, metadata: { resourceVersion: String(this.#rv) }, items });
  }

  #watch(r: Resource, ns: string | null, match: (o: KObj) => boolean, inScope: (o: KObj) => boolean, rvParam: string, url: URL, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // Like the real server, answer the headers at once: clients wait for them before reading events.
    res.flushHeaders();
    const from = rvParam === '' || rvParam === '0' ? null : Number(rvParam);
    if (from !== null && from < this.#compactedRv) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.#compactedRv})`) })}\n`);
      return;
    }
    const w: Watcher = { res: r, ns, match, out: res, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
    if (from === null) {
      for (const o of this.#store.get(r)!.values()) if (inScope(o)) res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    } else {
      for (const e of this.#history) if (e.rv > from) this.#send(w, e);
    }
    this.#watchers.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : null;
    res.on('close', () => { this.#watchers.delete(w); if (timer !== null) clearTimeout(timer); });
  }

  #route(path: string): { res: Resource; ns: string | null; name: string | null } | null {
    for (const prefix of ['/api/v1', '/apis/apps/v1', '/apis/batch/v1']) {
      if (!path.startsWith(`${prefix}/`)) continue;
      const seg = path.slice(prefix.length + 1).split('/').filter((s) => s !== '').map(decodeURIComponent);
      const find = (plural: string) => RESOURCES.find((r) => r.prefix === prefix && r.plural === plural);
      if (seg.length === 1 || (seg.length === 2 && seg[0] !== 'namespaces') || (seg.length === 2 && seg[0] === 'namespaces' && prefix === '/api/v1')) {
        const r = find(seg[0]!);
        if (r === undefined) return null;
        // GET /api/v1/namespaces/<name> is the namespace itself; namespaced kinds listed across namespaces.
        return { res: r, ns: null, name: seg[1] ?? null };
      }
      if (seg[0] === 'namespaces' && (seg.length === 3 || seg.length === 4)) {
        const r = find(seg[2]!);
        if (r === undefined || !r.namespaced) return null;
        return { res: r, ns: seg[1]!, name: seg[3] ?? null };
      }
    }
    return null;
  }
}
