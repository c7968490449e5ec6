// What port-scan detection adds to the kernel filter: TCP and UDP connects, and never less than the
// policies asked for; repeats of a target are gated in the kernel only when no policy needs connects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withScanNeeds } from '../../src/detect/filter.ts';
import { networkFilterCommand } from '../../src/monitor/filter.ts';
import type { KernelFilterSpec } from '../../src/types.ts';

const FILES: KernelFilterSpec = { passAll: false, exactPaths: ['/etc/shadow'], dirPrefixes: ['/etc/ssh/'] };

test('no network rule: connects of TCP and UDP pass, repeats gated for the fast window, the file filter is kept', () => {
  assert.deepEqual(withScanNeeds(FILES, 10_000), { ...FILES, network: { passAll: false, calls: ['connect'], protocols: [6, 17], repeatWindowMs: 10_000 } });
});

test('network rules: their calls and protocols stay, connect and TCP/UDP are added; rules on connect turn the gate off', () => {
  const icmp = withScanNeeds({ ...FILES, network: { passAll: false, calls: ['socket'], protocols: [1] } }, 10_000);
  assert.deepEqual(icmp.network, { passAll: false, calls: ['socket', 'connect'], protocols: [1, 6, 17], repeatWindowMs: 10_000 });
  const any = withScanNeeds({ ...FILES, network: { passAll: false, calls: ['socket', 'connect'], protocols: [] } }, 10_000);
  assert.deepEqual(any.network, { passAll: false, calls: ['socket', 'connect'], protocols: [] }, 'any protocol stays any; a rule needs every connect: no gate');
  const all = { ...FILES, network: { passAll: true, calls: [], protocols: [] } };
  assert.equal(withScanNeeds(all, 10_000), all, 'trace mode passes everything already');
});

test('the helper is told the repeat window (ms) after the protocols, only when there is one', () => {
  assert.equal(networkFilterCommand(withScanNeeds(FILES, 10_000).network), 'net 0 2 6,17 10000');
  assert.equal(networkFilterCommand({ passAll: false, calls: ['connect'], protocols: [6] }), 'net 0 2 6');
  assert.throws(() => networkFilterCommand({ passAll: false, calls: ['connect'], protocols: [6], repeatWindowMs: 1.5 }), /repeat window 1.5 ms/);
});
