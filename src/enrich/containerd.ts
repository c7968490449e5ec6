// A small containerd client over its unix socket: container and image metadata, and the stream of
// container deletions (so caches forget containers that are gone) and task starts (so containers'
// files are resolved for identity matching as they start).
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { CONTAINERD_PROTO, PROTO_OPTIONS, decodeFirstStringField } from './containerd-proto.ts';
import { ArmorwatchError } from '../errors.ts';

export class ContainerdError extends ArmorwatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AW_CONTAINERD', message, options);
    this.name = 'ContainerdError';
  }
}

export interface ContainerRecord {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly image: string;
  /** OCI spec annotations (CRI records pod and container names here). */
  readonly annotations: Readonly<Record<string, string>>;
}

interface RawContainer {
  id: string;
  labels: Record<string, string>;
  image: string;
  spec: { type_url: string; value: Buffer } | null;
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;
interface ServiceClient extends grpc.Client { [method: string]: unknown }

function toRecord(c: RawContainer): ContainerRecord {
  let annotations: Record<string, string> = {};
  if (c.spec !== null && c.spec.value.length > 0) {
    try {
      const spec = JSON.parse(c.spec.value.toString('utf8')) as { annotations?: Record<string, string> };
      annotations = spec.annotations ?? {};
    } catch {
      // A spec that is not JSON carries no annotations we can read.
    }
  }
  return { id: c.id, labels: c.labels, image: c.image, annotations };
}

export class ContainerdClient {
  readonly #containers: ServiceClient;
  readonly #images: ServiceClient;
  readonly #events: ServiceClient;
  readonly #namespace: string;
  readonly socket: string;

  constructor(socket: string, namespace: string) {
    const pkg = grpc.loadPackageDefinition(fromJSON(CONTAINERD_PROTO as Parameters<typeof fromJSON>[0], PROTO_OPTIONS)) as unknown as {
      containerd: { services: Record<string, { v1: Record<string, grpc.ServiceClientConstructor> }> };
    };
    const svc = pkg.containerd.services;
    const creds = grpc.credentials.createInsecure();
    const address = `unix://${socket}`;
    // One channel for all three services.
    this.#containers = new svc['containers']!.v1['Containers']!(address, creds) as ServiceClient;
    const channelOverride = this.#containers.getChannel();
    this.#images = new svc['images']!.v1['Images']!(address, creds, { channelOverride }) as ServiceClient;
    this.#events = new svc['events']!.v1['Events']!(address, creds, { channelOverride }) as ServiceClient;
    this.#namespace = namespace;
    this.socket = socket;
  }

  #md(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set('containerd-namespace', this.#namespace);
    return md;
  }

  #call<Req, Res>(client: ServiceClient, method: string, req: Req, timeoutMs: number): Promise<Res> {
    const fn = client[method] as Unary<Req, Res>;
    return new Promise((resolve, reject) => {
      fn.call(client, req, this.#md(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err !== null) reject(err);
        else resolve(res as Res);
      });
    });
  }

  /** The container, or null when containerd does not know it (NOT_FOUND). */
  async getContainer(id: string, timeoutMs = 2000): Promise<ContainerRecord | null> {
    try {
      const res = await this.#call<{ id: string }, { container: RawContainer }>(this.#containers, 'Get', { id }, timeoutMs);
      return toRecord(res.container);
    } catch (err) {
      if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return null;
      throw new ContainerdError(`containerd at ${this.socket}: Containers/Get ${id} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async listContainerIds(timeoutMs = 5000): Promise<Set<string>> {
    try {
      const res = await this.#call<{ filters: string[] }, { containers: RawContainer[] }>(this.#containers, 'List', { filters: [] }, timeoutMs);
      return new Set(res.containers.map((c) => c.id));
    } catch (err) {
      throw new ContainerdError(`containerd at ${this.socket}: Containers/List failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The digest of the image's target (manifest or index), e.g. `sha256:…`, or null when unknown. */
  async imageDigest(name: string, timeoutMs = 2000): Promise<string | null> {
    try {
      const res = await this.#call<{ name: string }, { image: { target: { digest: string } | null } }>(this.#images, 'Get', { name }, timeoutMs);
      return res.image.target?.digest || null;
    } catch (err) {
      if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return null;
      throw new ContainerdError(`containerd at ${this.socket}: Images/Get ${name} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Streams the ids of deleted containers and of containers whose task started, in this namespace;
   * `onEnd` fires once when the stream ends.
   */
  subscribeEvents(on: { readonly deleted: (id: string) => void; readonly started: (id: string) => void }, onEnd: (err: Error | null) => void): () => void {
    const filters = ['/containers/delete', '/tasks/start'].map((topic) => `topic=="${topic}",namespace=="${this.#namespace}"`);
    const subscribe = this.#events['Subscribe'] as (req: unknown) => grpc.ClientReadableStream<{ topic: string; event: { value: Buffer } | null }>;
    const stream = subscribe.call(this.#events, { filters });
    let ended = false;
    const end = (err: Error | null) => { if (!ended) { ended = true; onEnd(err); } };
    stream.on('data', (env) => {
      // Both messages carry the container's id in field 1 (ContainerDelete.id, TaskStart.container_id).
      const id = env.event === null ? null : decodeFirstStringField(env.event.value);
      if (id === null) return;
      if (env.topic === '/tasks/start') on.started(id);
      else on.deleted(id);
    });
    stream.on('error', (err: grpc.ServiceError) => end(err.code === grpc.status.CANCELLED ? null : err));
    stream.on('end', () => end(null));
    return () => { ended = true; stream.cancel(); };
  }

  close(): void {
    this.#containers.close();
  }
}
