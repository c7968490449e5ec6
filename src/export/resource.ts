// The workload an alert happened in, as an OTLP Resource. Records of one workload must share ONE
// Resource object: the OTLP serializer groups an export request's records into ResourceLogs by
// object identity, so a cache keyed by the workload's identity gives one ResourceLogs per workload
// in each request while all workloads still travel in the same request.
import { createHash } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { NodeIdentity, Workload } from '../types.ts';
import { CONTAINER_RUNTIME, OWNER_ATTR, RES, SCHEMA_URL } from './attributes.ts';

export interface AgentIdentity {
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** Static attributes on every Resource (--resource-attributes, OTEL_RESOURCE_ATTRIBUTES); the agent's own win. */
  readonly extra?: Readonly<Record<string, string>>;
}

export interface ImageParts {
  readonly name: string;
  readonly tags: readonly string[];
  readonly repoDigests: readonly string[];
}

/** Splits `repo[:tag][@sha256:…]`; a `:` before the last `/` is a registry port, not a tag. */
export function splitImage(image: string): ImageParts {
  const at = image.indexOf('@');
  const ref = at < 0 ? image : image.slice(0, at);
  const digest = at < 0 ? '' : image.slice(at + 1);
  const colon = ref.lastIndexOf(':');
  const hasTag = colon > ref.lastIndexOf('/');
  const name = hasTag ? ref.slice(0, colon) : ref;
  return {
    name,
    tags: hasTag && colon < ref.length - 1 ? [ref.slice(colon + 1)] : [],
    repoDigests: digest === '' ? [] : [`${name}@${digest}`],
  };
}

/** The namespace semantic conventions give for a service.instance.id derived from an inherent id. */
const SERVICE_INSTANCE_NAMESPACE = Buffer.from('4d63009a8d0f11eeaad74c796ed8e320', 'hex');

/** RFC 9562 UUID version 5 (SHA-1, namespaced) of `name`. */
export function uuidV5(name: string, namespace: Uint8Array = SERVICE_INSTANCE_NAMESPACE): string {
  const b = createHash('sha1').update(namespace).update(name).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * service.instance.id: one agent runs per node, so cluster, node and service name identify it; as
 * semantic conventions ask for an inherent id, it is the UUID v5 of them (stable across restarts,
 * without spelling the node name out). A value the user set in the static attributes wins.
 */
export function serviceInstanceId(agent: AgentIdentity, node: NodeIdentity): string {
  return agent.extra?.[RES.serviceInstanceId] ?? uuidV5(`${node.clusterName}/${node.hostName}/${agent.serviceName}`);
}

/** Resource attributes of the workload (and of the agent and node, which every record carries). */
export function resourceAttributes(agent: AgentIdentity, workload: Workload, node: NodeIdentity): Attributes {
  const a: Attributes = {
    ...agent.extra,
    [RES.serviceName]: agent.serviceName,
    [RES.serviceVersion]: agent.serviceVersion,
    [RES.serviceInstanceId]: serviceInstanceId(agent, node),
    [RES.clusterName]: node.clusterName,
    [RES.nodeName]: node.hostName,
    [RES.hostName]: node.hostName,
  };
  if (workload.kind === 'host') return a;
  const set = (k: string, v: string | undefined): void => { if (v !== undefined && v !== '') a[k] = v; };
  set(RES.namespaceName, workload.namespace);
  set(RES.podName, workload.podName);
  set(RES.podUid, workload.podUid);
  set(RES.containerName, workload.containerName);
  set(RES.containerId, workload.containerId);
  a[RES.containerRuntimeName] = CONTAINER_RUNTIME;
  const image = workload.containerImage;
  if (image !== undefined && image !== '') {
    const parts = splitImage(image);
    a[RES.imageName] = parts.name;
    if (parts.tags.length > 0) a[RES.imageTags] = [...parts.tags];
    if (parts.repoDigests.length > 0) a[RES.imageRepoDigests] = [...parts.repoDigests];
  }
  const owner = workload.owner;
  const ownerAttr = owner === undefined ? undefined : OWNER_ATTR[owner.ref];
  if (owner !== undefined && ownerAttr !== undefined) set(ownerAttr, owner.name);
  for (const [k, v] of Object.entries(workload.labels)) a[RES.podLabel(k)] = v;
  return a;
}

/** The one Resource builder: alerts' Resources (one per workload) and the metrics' (the host workload's). */
export function workloadResource(agent: AgentIdentity, workload: Workload, node: NodeIdentity): Resource {
  return resourceFromAttributes(resourceAttributes(agent, workload, node), { schemaUrl: SCHEMA_URL });
}

/** The agent's own Resource (its metrics): what host-process alerts carry, the same service.instance.id and schema_url. */
export function agentResource(agent: AgentIdentity, node: Pick<NodeIdentity, 'clusterName' | 'hostName'>): Resource {
  return workloadResource(agent, HOST, { ...node, labels: {} });
}

const HOST: Workload = Object.freeze({ kind: 'host', labels: Object.freeze({}) });

// The enricher hands out one frozen Workload object per container until its metadata changes, and
// one NodeIdentity until the node's labels change: the key is computed once per pair of objects.
const workloadKeys = new WeakMap<Workload, { readonly node: NodeIdentity; readonly key: string }>();

/** Identity of the workload for the cache: every field resourceAttributes reads. */
function workloadKey(workload: Workload, node: NodeIdentity): string {
  const hit = workloadKeys.get(workload);
  if (hit !== undefined && hit.node === node) return hit.key;
  const w = workload;
  const key = [
    node.clusterName, node.hostName, w.kind, w.namespace, w.podName, w.podUid, w.containerName, w.containerId, w.containerImage,
    w.owner?.ref, w.owner?.name, w.kind === 'host' ? '' : JSON.stringify(w.labels),
  ].join('\0');
  workloadKeys.set(workload, { node, key });
  return key;
}

/**
 * Resource objects by workload, bounded: the oldest entry goes when full (a workload that comes
 * back just gets a new, equal Resource; only grouping within one request depends on identity).
 */
export class ResourceCache<T> {
  readonly #max: number;
  readonly #agent: AgentIdentity;
  readonly #make: (resource: Resource) => T;
  readonly #entries = new Map<string, T>();

  constructor(agent: AgentIdentity, make: (resource: Resource) => T, max = 4096) {
    this.#agent = agent;
    this.#make = make;
    this.#max = max;
  }

  get(workload: Workload, node: NodeIdentity): T {
    const key = workloadKey(workload, node);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= this.#max) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      entry = this.#make(workloadResource(this.#agent, workload, node));
      this.#entries.set(key, entry);
    }
    return entry;
  }

  get size(): number {
    return this.#entries.size;
  }
}
