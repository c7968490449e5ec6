// The few messages of containerd's public gRPC API (api/services/{containers,images,events}/v1)
// that armorwatch reads, written from the API's field names and numbers as a protobuf.js JSON
// descriptor so that no .proto file has to ship next to the compiled code.
import type { Options } from '@grpc/proto-loader';

const str = (id: number) => ({ type: 'string', id });
const map = (id: number, type = 'string') => ({ keyType: 'string', type, id });

export const CONTAINERD_PROTO = {
  nested: {
    google: { nested: { protobuf: { nested: {
      Any: { fields: { type_url: str(1), value: { type: 'bytes', id: 2 } } },
      Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
    } } } },
    containerd: { nested: {
      types: { nested: {
        Descriptor: { fields: { media_type: str(1), digest: str(2), size: { type: 'int64', id: 3 }, annotations: map(5) } },
      } },
      services: { nested: {
        containers: { nested: { v1: { nested: {
          Containers: { methods: {
            Get: { requestType: 'GetContainerRequest', responseType: 'GetContainerResponse' },
            List: { requestType: 'ListContainersRequest', responseType: 'ListContainersResponse' },
          } },
          Container: {
            fields: {
              id: str(1), labels: map(2), image: str(3),
              runtime: { type: 'Runtime', id: 4 },
              spec: { type: 'google.protobuf.Any', id: 5 },
              snapshotter: str(6), snapshot_key: str(7),
              created_at: { type: 'google.protobuf.Timestamp', id: 8 },
              updated_at: { type: 'google.protobuf.Timestamp', id: 9 },
              sandbox: str(11),
            },
            nested: { Runtime: { fields: { name: str(1), options: { type: 'google.protobuf.Any', id: 2 } } } },
          },
          GetContainerRequest: { fields: { id: str(1) } },
          GetContainerResponse: { fields: { container: { type: 'Container', id: 1 } } },
          ListContainersRequest: { fields: { filters: { rule: 'repeated', type: 'string', id: 1 } } },
          ListContainersResponse: { fields: { containers: { rule: 'repeated', type: 'Container', id: 1 } } },
        } } } },
        images: { nested: { v1: { nested: {
          Images: { methods: { Get: { requestType: 'GetImageRequest', responseType: 'GetImageResponse' } } },
          Image: { fields: { name: str(1), labels: map(2), target: { type: 'containerd.types.Descriptor', id: 3 } } },
          GetImageRequest: { fields: { name: str(1) } },
          GetImageResponse: { fields: { image: { type: 'Image', id: 1 } } },
        } } } },
        events: { nested: { v1: { nested: {
          Events: { methods: { Subscribe: { requestType: 'SubscribeRequest', responseType: 'Envelope', responseStream: true } } },
          SubscribeRequest: { fields: { filters: { rule: 'repeated', type: 'string', id: 1 } } },
          Envelope: { fields: {
            timestamp: { type: 'google.protobuf.Timestamp', id: 1 }, namespace: str(2), topic: str(3),
            event: { type: 'google.protobuf.Any', id: 4 },
          } },
        } } } },
      } },
    } },
  },
};

export const PROTO_OPTIONS: Options = { keepCase: true, longs: String, defaults: true, oneofs: true };

/** Field 1 (a string) of a small event message such as containerd.events.ContainerDelete{id}. */
export function decodeFirstStringField(buf: Uint8Array): string | null {
  let i = 0;
  while (i < buf.length) {
    let key = 0, shift = 0, b: number;
    do { b = buf[i++]!; key |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80 && i < buf.length);
    const wire = key & 7;
    if (wire !== 2) return null; // every field before id is length-delimited in these messages
    let len = 0; shift = 0;
    do { b = buf[i++]!; len |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80 && i < buf.length);
    if (key >>> 3 === 1) return Buffer.from(buf.subarray(i, i + len)).toString('utf8');
    i += len;
  }
  return null;
}
