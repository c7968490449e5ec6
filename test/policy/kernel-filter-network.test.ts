// The network part of the kernel filter (NetworkFilterSpec) for the network rules: it may pass more
// than the rules need, never less — checked for every protocol name against every socket triple
// that name matches, the way the kernel program judges a socket (its protocol's low 8 bits).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultProtocol } from '../../src/format/net.ts';
import { compilePolicies } from '../../src/policy/engine.ts';
import { classify, PROTOCOL_NAMES, protocolBits } from '../../src/policy/network-rules.ts';
import type { NetworkFilterSpec } from '../../src/types.ts';
import { ksp, policies } from './helpers.ts';

const filterFor = (yaml: string): NetworkFilterSpec | undefined => compilePolicies(policies(yaml)).kernelFilter().network;
const rules = (action: string, ...protocols: string[]): string =>
  ksp('ksp-net', `  network:\n    matchProtocols:\n${protocols.map((p) => `      - protocol: ${p}`).join('\n')}\n  action: ${action}`);

/** What the kernel program does with a socket of this protocol (bpf/net.bpf.h net_passes). */
function kernelPasses(f: NetworkFilterSpec, call: string, protocol: number): boolean {
  if (f.passAll) return true;
  if (!f.calls.includes(call as never)) return false;
  return f.protocols.length === 0 || f.protocols.some((p) => (p & 0xff) === (protocol & 0xff));
}

const DOMAINS = [1, 2, 10, 16, 17, 30];
const TYPES = [1, 2, 3, 4, 5, 6];
const PROTOCOLS = [0, 1, 6, 17, 33, 58, 132, 136, 255, 262, 768];

test('for every protocol name, every socket it matches passes the kernel filter, for every network call', () => {
  for (const name of PROTOCOL_NAMES) {
    const f = filterFor(rules('Audit', name));
    assert.ok(f !== undefined, `${name}: a network filter`);
    let matched = 0;
    for (const d of DOMAINS) for (const t of TYPES) for (const p of PROTOCOLS) {
      if ((classify(d, t, p) & protocolBits(name)!) === 0) continue;
      matched++;
      for (const call of ['socket', 'connect', 'accept', 'accept4', 'bind', 'listen']) {
        assert.ok(kernelPasses(f, call, defaultProtocol(d, t, p)), `${name}: ${call} on (${d}, ${t}, ${p}) passes`);
      }
    }
    assert.ok(matched > 0, `${name} matches some socket`);
  }
});

test('the filter is as narrow as the protocols allow: TCP and UDP rules pass their protocols only', () => {
  assert.deepEqual(filterFor(rules('Audit', 'tcp', 'UDP')), { passAll: false, calls: ['socket', 'connect', 'accept', 'accept4', 'bind', 'listen'], protocols: [6, 17, 136, 262] });
  assert.deepEqual(filterFor(rules('Block', 'icmp'))?.protocols, [1]);
  const tcp = filterFor(rules('Audit', 'tcp'))!;
  assert.ok(!kernelPasses(tcp, 'connect', 17), 'UDP does not pass a TCP-only filter');
  assert.deepEqual(filterFor(rules('Audit', 'tcp', 'raw'))?.protocols, [], 'raw sockets carry any protocol: any passes');
});

test('allow-list mode passes every protocol; no network rule (or only unknown names) passes nothing', () => {
  assert.deepEqual(filterFor(rules('Allow', 'tcp'))?.protocols, []);
  assert.equal(filterFor(ksp('ksp-file', '  file:\n    matchPaths:\n      - path: /etc/x')), undefined);
  assert.equal(filterFor(rules('Audit', 'xtcp')), undefined);
});
