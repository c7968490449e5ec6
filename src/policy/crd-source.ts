// Policies from KubeArmor's custom resources: KubeArmorPolicy, KubeArmorClusterPolicy and
// KubeArmorHostPolicy objects listed and watched through the Kubernetes API (read-only). Each object
// becomes one policy document, named `kubernetes:<Kind>/<namespace>/<name>`, whose text is the object
// as the API server returned it (YAML, managedFields left out); the PolicyStore validates it exactly
// like a file's document (validate.ts), keeps the last good version of a policy when a new one is
// invalid, and logs the same reload line. Watches restart after errors; a 410 Gone relists.
import type { KubeConfig, KubernetesObject, ListWatch } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { k8s } from '../enrich/kube.ts';
import type { Logger } from '../log.ts';
import { API_VERSION } from './schema.ts';

/** Documents that do not come from files: a name (shown where a file name would be) → text and version. */
export interface PolicySource {
  /** Lists once (or gives up after the sync timeout, logging it) and keeps watching. */
  start(): Promise<void>;
  documents(): ReadonlyMap<string, { readonly version: string; readonly text: string }>;
  /** Called after any document is added, changed or removed. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

const [GROUP, VERSION] = API_VERSION.split('/') as [string, string];

/** The three kinds and their REST plurals, as KubeArmor's CRDs name them. */
export const POLICY_RESOURCES = [
  { kind: 'KubeArmorPolicy', plural: 'kubearmorpolicies' },
  { kind: 'KubeArmorClusterPolicy', plural: 'kubearmorclusterpolicies' },
  { kind: 'KubeArmorHostPolicy', plural: 'kubearmorhostpolicies' },
] as const;

export interface CrdSourceOptions {
  readonly logger: Logger;
  /** Pause before a failed watch is started again (ms). */
  readonly retryMs?: number;
  /** Longest wait for the first list of every kind in start() (ms). */
  readonly syncTimeoutMs?: number;
}

/** The document name of an object: where a file name would be in problems and log lines. */
export function crdDocumentName(kind: string, namespace: string | undefined, name: string): string {
  return `kubernetes:${kind}/${namespace === undefined || namespace === '' ? '' : `${namespace}/`}${name}`;
}

export class CrdPolicySource implements PolicySource {
  readonly #log: Logger;
  readonly #retryMs: number;
  readonly #syncTimeoutMs: number;
  readonly #docs = new Map<string, { version: string; text: string }>();
  readonly #listeners: Array<() => void> = [];
  readonly #informers: Array<{ kind: string; informer: ListWatch<KubernetesObject> }> = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(kc: KubeConfig, opts: CrdSourceOptions) {
    this.#log = opts.logger;
    this.#retryMs = opts.retryMs ?? 2000;
    this.#syncTimeoutMs = opts.syncTimeoutMs ?? 10_000;
    const { CustomObjectsApi, ListWatch, Watch } = k8s();
    const api = kc.makeApiClient(CustomObjectsApi);
    const watch = new Watch(kc);
    for (const { kind, plural } of POLICY_RESOURCES) {
      const list = () => api.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>;
      const informer = new ListWatch<KubernetesObject>(`/apis/${GROUP}/${VERSION}/${plural}`, watch, list as never, false);
      const upsert = (o: KubernetesObject) => this.#upsert(kind, o);
      informer.on('add', upsert);
      informer.on('update', upsert);
      informer.on('delete', (o) => {
        if (this.#docs.delete(crdDocumentName(kind, o.metadata?.namespace, o.metadata?.name ?? ''))) this.#changed();
      });
      informer.on('error', (err: unknown) => {
        if (this.#closed) return;
        this.#log.warn({ kind, err: (err as Error)?.message ?? String(err) }, 'policy watch failed; retrying (the policies in force stay)');
        const t = setTimeout(() => {
          this.#timers.delete(t);
          if (!this.#closed) void informer.start();
        }, this.#retryMs);
        this.#timers.add(t);
      });
      this.#informers.push({ kind, informer });
    }
  }

  async start(): Promise<void> {
    for (const { informer } of this.#informers) void informer.start();
    const end = Date.now() + this.#syncTimeoutMs;
    while (!this.synced() && Date.now() < end && !this.#closed) await new Promise((r) => setTimeout(r, 50));
    if (!this.synced()) {
      const pending = this.#informers.filter((i) => i.informer.latestResourceVersion() === '').map((i) => i.kind);
      this.#log.warn({ pending }, `policies from the Kubernetes API not listed within ${this.#syncTimeoutMs} ms; going on without them until they are`);
    }
  }

  /** True once every kind has been listed. */
  synced(): boolean { return this.#informers.every((i) => i.informer.latestResourceVersion() !== ''); }

  documents(): ReadonlyMap<string, { readonly version: string; readonly text: string }> { return this.#docs; }

  onChange(listener: () => void): void { this.#listeners.push(listener); }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(this.#informers.map((i) => i.informer.stop()));
  }

  #upsert(kind: string, o: KubernetesObject): void {
    const name = crdDocumentName(kind, o.metadata?.namespace, o.metadata?.name ?? '');
    const version = o.metadata?.resourceVersion ?? '';
    if (this.#docs.get(name)?.version === version && version !== '') return;
    const { managedFields: _m, ...metadata } = o.metadata ?? {};
    // The list's items carry no kind or apiVersion; the document needs both, as a file would have them.
    this.#docs.set(name, { version, text: stringify({ ...o, apiVersion: o.apiVersion ?? API_VERSION, kind: o.kind ?? kind, metadata }) });
    this.#changed();
  }

  #changed(): void {
    for (const l of this.#listeners) {
      try { l(); } catch (err) { this.#log.error({ err: String(err) }, 'policy source listener failed'); }
    }
  }
}
