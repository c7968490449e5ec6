import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultProtocol, formatAddress, networkResource } from '../../src/format/index.ts';
import type { NetworkEvent, SocketAddress } from '../../src/types.ts';

type Shape = Pick<NetworkEvent, 'syscall' | 'domain' | 'type' | 'protocol' | 'remote' | 'local'>;
const TCP4 = { domain: 2, type: 1, protocol: 6 } as const;
const v4: SocketAddress = { family: 'inet', address: '10.0.0.7', port: 5432 };

test('Resource of each network call, as KubeArmor writes it', () => {
  const table: Array<[Shape, string]> = [
    [{ syscall: 'socket', ...TCP4, remote: null, local: null }, 'domain=AF_INET type=SOCK_STREAM protocol=TCP'],
    [{ syscall: 'socket', domain: 10, type: 2, protocol: 17, remote: null, local: null }, 'domain=AF_INET6 type=SOCK_DGRAM protocol=UDP'],
    [{ syscall: 'socket', domain: 2, type: 3, protocol: 1, remote: null, local: null }, 'domain=AF_INET type=SOCK_RAW protocol=ICMP'],
    [{ syscall: 'connect', ...TCP4, remote: v4, local: null }, 'remoteip=10.0.0.7 port=5432 protocol=TCP'],
    [{ syscall: 'accept4', ...TCP4, remote: { family: 'inet6', address: '::ffff:127.0.0.1', port: 40000, mappedV4: '127.0.0.1' }, local: null },
      'remoteip=::ffff:127.0.0.1 port=40000 protocol=TCP'],
    [{ syscall: 'bind', ...TCP4, remote: null, local: { family: 'inet', address: '0.0.0.0', port: 80 } }, 'localip=0.0.0.0 port=80 protocol=TCP'],
    [{ syscall: 'connect', domain: 1, type: 1, protocol: 0, remote: { family: 'unix', path: 'x11', abstract: true }, local: null }, 'remotepath=@x11 protocol=IP'],
    [{ syscall: 'listen', ...TCP4, remote: null, local: null }, 'domain=AF_INET type=SOCK_STREAM protocol=TCP'],
    [{ syscall: 'connect', domain: 16, type: 3, protocol: 0, remote: { family: 'other', af: 16 }, local: null }, 'remotefamily=AF_NETLINK protocol=IP'],
  ];
  for (const [ev, text] of table) assert.equal(networkResource(ev), text);
});

test('protocol 0 is the kernel\'s default for inet stream and datagram sockets only', () => {
  assert.equal(defaultProtocol(2, 1, 0), 6);
  assert.equal(defaultProtocol(10, 2, 0), 17);
  assert.equal(defaultProtocol(2, 3, 0), 0);
  assert.equal(defaultProtocol(1, 1, 0), 0);
  assert.equal(defaultProtocol(2, 1, 132), 132);
  assert.equal(formatAddress({ family: 'unix', path: '/run/a.sock', abstract: false }), '/run/a.sock');
});
