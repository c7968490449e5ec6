// The network branch of the typed match (src/export/match.ts) as the KubeArmor line renders it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderAlert } from '../../src/export/kubearmor.ts';
import type { Match, NetworkEvent } from '../../src/types.ts';
import { SEED_EVENT, SEED_MATCH } from './fixtures.ts';

const { kind: _k, syscall: _s, dirfd: _d, flags: _f, mode: _m, args: _a, ret: _r, path: _p, absPath: _ap, resolvedPath: _rp, path2: _p2, absPath2: _ap2, ownerUid: _o, ...identity } = SEED_EVENT;

function net(over: Partial<NetworkEvent>): Match {
  const event: NetworkEvent = {
    ...identity, exePath: '/usr/bin/curl', kind: 'network', syscall: 'connect', phase: 'call', fd: 3, ret: 0,
    domain: 2, type: 1, protocol: 6, remote: { family: 'inet', address: '10.0.0.7', port: 5432 }, local: null, ...over,
  };
  return { ...SEED_MATCH, event, decision: { ...SEED_MATCH.decision, operation: 'Network', matchedPath: '' } };
}

test('a connect renders KubeArmor\'s network record: remote address as Resource, fd in Data, the exe as Source', () => {
  const a = renderAlert(net({}));
  assert.equal(a.Operation, 'Network');
  assert.equal(a.Resource, 'remoteip=10.0.0.7 port=5432 protocol=TCP');
  assert.equal(a.Data, 'syscall=SYS_CONNECT fd=3');
  assert.equal(a.Source, '/usr/bin/curl');
  assert.equal(a.ProcessName, '/usr/bin/curl');
  assert.equal(a.Result, 'Passed');
  assert.equal(a.Syscall, 'SYS_CONNECT');
  assert.equal(a.Dirfd, undefined);
  assert.equal(a.Flags, undefined);
  assert.equal(a.ResolvedResource, undefined);
});

test('socket() renders the triple; a refused connect its errno; bind its local address', () => {
  const s = renderAlert(net({ syscall: 'socket', fd: 4, ret: 4, remote: null }));
  assert.equal(s.Resource, 'domain=AF_INET type=SOCK_STREAM protocol=TCP');
  assert.equal(s.Data, 'syscall=SYS_SOCKET');
  assert.equal(renderAlert(net({ ret: -111 })).Result, 'Connection refused');
  const b = renderAlert(net({ syscall: 'bind', remote: null, local: { family: 'inet6', address: '::', port: 8080 } }));
  assert.equal(b.Resource, 'localip=:: port=8080 protocol=TCP');
  assert.equal(b.Data, 'syscall=SYS_BIND fd=3');
});
