// What port-scan detection adds to the kernel filter: TCP and UDP connects, and never less than the
// policies asked for; the kernel's gate holds back only the connects of protocols no rule needs,
// with the detector's lowest thresholds (its counts are exact and never below the detector's).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCAN_DEFAULTS } from '../../src/config/scan.ts';
import { scanGate, withScanNeeds } from '../../src/detect/filter.ts';
import { networkFilterCommand } from '../../src/monitor/filter.ts';
import type { KernelFilterSpec } from '../../src/types.ts';

const FILES: KernelFilterSpec = { passAll: false, exactPaths: ['/etc/shadow'], dirPrefixes: ['/etc/ssh/'] };
const NETNS = 4026531840;

test('the gate opens at the detector\'s lowest thresholds, not before, and covers the longest window', () => {
  const g = scanGate(SCAN_DEFAULTS, true, true, NETNS);
  assert.equal(g.ports, Math.min(SCAN_DEFAULTS.ports, SCAN_DEFAULTS.slowPorts));
  assert.equal(g.hosts, Math.min(SCAN_DEFAULTS.hosts, SCAN_DEFAULTS.slowHosts));
  assert.deepEqual([g.ports, g.hosts], [20, 64], 'the defaults: 20 ports, 64 hosts');
  assert.equal(g.windowMs, Math.max(SCAN_DEFAULTS.windowMs, SCAN_DEFAULTS.slowWindowMs));
  assert.equal(g.quietMs, SCAN_DEFAULTS.quietMs);
  const slow = scanGate({ ...SCAN_DEFAULTS, ports: 30, slowPorts: 12, hosts: 200, slowHosts: 90 }, true, true, 0);
  assert.deepEqual([slow.ports, slow.hosts], [12, 90], 'the lower of the fast and slow thresholds');
});

test('no network rule: connects of TCP and UDP pass through the gate, the file filter is kept', () => {
  assert.deepEqual(withScanNeeds(FILES, SCAN_DEFAULTS, NETNS),
    { ...FILES, network: { passAll: false, calls: ['connect'], protocols: [6, 17], scanGate: scanGate(SCAN_DEFAULTS, true, true, NETNS) } });
});

test('network rules: their calls and protocols stay; a rule on connects of a protocol takes that protocol out of the gate', () => {
  const icmp = withScanNeeds({ ...FILES, network: { passAll: false, calls: ['socket'], protocols: [1] } }, SCAN_DEFAULTS, NETNS);
  assert.deepEqual(icmp.network, { passAll: false, calls: ['socket', 'connect'], protocols: [1], scanGate: scanGate(SCAN_DEFAULTS, true, true, NETNS) },
    'TCP and UDP connects pass by the gate, not by the shared protocol list: TCP socket() calls stay filtered');
  const udp = withScanNeeds({ ...FILES, network: { passAll: false, calls: ['connect'], protocols: [17] } }, SCAN_DEFAULTS, NETNS);
  assert.deepEqual(udp.network, { passAll: false, calls: ['connect'], protocols: [17], scanGate: scanGate(SCAN_DEFAULTS, true, false, NETNS) },
    'UDP connects go up for the rule; TCP stays gated');
  const any = withScanNeeds({ ...FILES, network: { passAll: false, calls: ['socket', 'connect'], protocols: [] } }, SCAN_DEFAULTS, NETNS);
  assert.deepEqual(any.network, { passAll: false, calls: ['socket', 'connect'], protocols: [] }, 'any protocol stays any; a rule needs every connect: no gate');
  const all = { ...FILES, network: { passAll: true, calls: [], protocols: [] } };
  assert.equal(withScanNeeds(all, SCAN_DEFAULTS, NETNS), all, 'trace mode passes everything already');
});

test('the helper is told the gate after the protocols, only when there is one', () => {
  const g = scanGate(SCAN_DEFAULTS, true, false, NETNS);
  assert.equal(networkFilterCommand(withScanNeeds(FILES, SCAN_DEFAULTS, NETNS).network),
    `net 0 2 6,17 gate 3 ${g.windowMs} ${g.quietMs} ${g.ports} ${g.hosts} ${NETNS}`);
  assert.equal(networkFilterCommand({ passAll: false, calls: ['connect'], protocols: [6], scanGate: g }), `net 0 2 6 gate 1 ${g.windowMs} ${g.quietMs} ${g.ports} ${g.hosts} ${NETNS}`);
  assert.equal(networkFilterCommand({ passAll: false, calls: ['connect'], protocols: [6] }), 'net 0 2 6');
  assert.throws(() => networkFilterCommand({ passAll: false, calls: ['connect'], protocols: [6], scanGate: { ...g, windowMs: 1.5 } }), /scan gate window \(ms\) 1.5/);
  assert.throws(() => networkFilterCommand({ passAll: false, calls: ['connect'], protocols: [6], scanGate: { ...g, ports: 0 } }), /scan gate ports 0/);
});
