// What port-scan detection adds to the kernel filter: TCP and UDP connects, and never less than the policies asked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withScanNeeds } from '../../src/detect/filter.ts';
import type { KernelFilterSpec } from '../../src/types.ts';

const FILES: KernelFilterSpec = { passAll: false, exactPaths: ['/etc/shadow'], dirPrefixes: ['/etc/ssh/'] };

test('no network rule: connects of TCP and UDP pass, the file filter is kept', () => {
  assert.deepEqual(withScanNeeds(FILES), { ...FILES, network: { passAll: false, calls: ['connect'], protocols: [6, 17] } });
});

test('network rules: their calls and protocols stay, connect and TCP/UDP are added', () => {
  const icmp = withScanNeeds({ ...FILES, network: { passAll: false, calls: ['socket'], protocols: [1] } });
  assert.deepEqual(icmp.network, { passAll: false, calls: ['socket', 'connect'], protocols: [1, 6, 17] });
  const any = withScanNeeds({ ...FILES, network: { passAll: false, calls: ['socket', 'connect'], protocols: [] } });
  assert.deepEqual(any.network, { passAll: false, calls: ['socket', 'connect'], protocols: [] }, 'any protocol stays any');
  const all = { ...FILES, network: { passAll: true, calls: [], protocols: [] } };
  assert.equal(withScanNeeds(all), all, 'trace mode passes everything already');
});
