// The workload an alert happened in, as an OTLP Resource. Records of one workload must share ONE
// Resource object: the OTLP serializer groups an export request's records into ResourceLogs by
// object identity, so a cache keyed by the workload's identity gives one ResourceLogs per workload
// in each request while all workloads still travel in the same request.
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { Alert, Workload } from '../types.ts';
import { OWNER_ATTR, RES } from './attributes.ts';

export interface AgentIdentity {
  readonly serviceName: string;
  readonly serviceVersion: string;
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

/** `k=v,k=v` (KubeArmor's Labels field) → map. Kubernetes label keys and values never hold `,` or `=`. */
export function parseLabels(labels: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (labels === undefined || labels === '') return out;
  for (const pair of labels.split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function isHost(alert: Alert, workload: Workload | undefined): boolean {
  return workload !== undefined ? workload.kind === 'host' : alert.Type === 'MatchedHostPolicy';
}

/** Resource attributes of the workload (and of the agent and node, which every record carries). */
export function resourceAttributes(agent: AgentIdentity, alert: Alert, workload?: Workload): Attributes {
  const a: Attributes = {
    [RES.serviceName]: agent.serviceName,
    [RES.serviceVersion]: agent.serviceVersion,
    [RES.clusterName]: alert.ClusterName,
    [RES.nodeName]: alert.HostName,
    [RES.hostName]: alert.HostName,
  };
  if (isHost(alert, workload)) return a;
  const set = (k: string, v: string | undefined): void => { if (v !== undefined && v !== '') a[k] = v; };
  set(RES.namespaceName, alert.NamespaceName ?? workload?.namespace);
  set(RES.podName, alert.PodName ?? workload?.podName);
  set(RES.podUid, workload?.podUid);
  set(RES.containerName, alert.ContainerName ?? workload?.containerName);
  set(RES.containerId, alert.ContainerID ?? workload?.containerId);
  const image = alert.ContainerImage ?? workload?.containerImage;
  if (image !== undefined && image !== '') {
    const parts = splitImage(image);
    a[RES.imageName] = parts.name;
    if (parts.tags.length > 0) a[RES.imageTags] = [...parts.tags];
    if (parts.repoDigests.length > 0) a[RES.imageRepoDigests] = [...parts.repoDigests];
  }
  const owner = alert.Owner ?? (workload?.owner ? { Ref: workload.owner.ref, Name: workload.owner.name } : undefined);
  const ownerAttr = owner === undefined ? undefined : OWNER_ATTR[owner.Ref];
  if (owner !== undefined && ownerAttr !== undefined) set(ownerAttr, owner.Name);
  const labels = workload?.labels ?? parseLabels(alert.Labels);
  for (const [k, v] of Object.entries(labels)) a[RES.podLabel(k)] = v;
  return a;
}

// The enricher hands out one frozen Workload object per container until its metadata changes, so
// the label part of the key is computed once per object.
const labelKeys = new WeakMap<Workload, string>();

function labelsKey(alert: Alert, workload: Workload | undefined): string | undefined {
  if (workload === undefined) return alert.Labels;
  let k = labelKeys.get(workload);
  if (k === undefined) { k = JSON.stringify(workload.labels); labelKeys.set(workload, k); }
  return k;
}

/** Identity of the workload for the cache: every field resourceAttributes reads. */
function workloadKey(alert: Alert, workload: Workload | undefined): string {
  if (isHost(alert, workload)) return `h\0${alert.ClusterName}\0${alert.HostName}`;
  return [
    'c', alert.ClusterName, alert.HostName, alert.NamespaceName, alert.PodName, workload?.podUid, alert.ContainerName,
    alert.ContainerID, alert.ContainerImage, alert.Owner?.Ref, alert.Owner?.Name, labelsKey(alert, workload),
  ].join('\0');
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

  get(alert: Alert, workload?: Workload): T {
    const key = workloadKey(alert, workload);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= this.#max) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      entry = this.#make(resourceFromAttributes(resourceAttributes(this.#agent, alert, workload)));
      this.#entries.set(key, entry);
    }
    return entry;
  }

  get size(): number {
    return this.#entries.size;
  }
}
