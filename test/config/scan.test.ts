// Port-scan detection options: defaults, flags over environment, the off switch, and bad values
// named by their source.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRunConfig } from '../../src/config/parse.ts';
import { SCAN_DEFAULTS } from '../../src/config/scan.ts';
import type { RunConfig } from '../../src/config/types.ts';
import { UsageError } from '../../src/errors.ts';

const deps = { hostname: () => 'node-a', readFile: (): Buffer => { throw new Error('no files'); } };
const P = ['--policies', '/p'];

function parse(argv: string[], env: Record<string, string> = {}): RunConfig {
  const r = parseRunConfig([...P, ...argv], env, deps);
  assert.equal(r.help, false);
  return r.config;
}

function usage(argv: string[], env: Record<string, string>, message: RegExp): void {
  assert.throws(() => parseRunConfig([...P, ...argv], env, deps), (err: unknown) => {
    assert.ok(err instanceof UsageError, `UsageError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

test('port-scan detection is on by default, with the documented defaults', () => {
  assert.deepEqual(parse([]).scan, SCAN_DEFAULTS);
  assert.deepEqual(SCAN_DEFAULTS, {
    windowMs: 10_000, ports: 20, hosts: 64, slowWindowMs: 300_000, slowPorts: 40, slowHosts: 128,
    updateIntervalMs: 30_000, quietMs: 30_000, maxKeys: 4096, maxTargets: 4096,
  });
});

test('flags win over the environment; every setting has its variable', () => {
  const c = parse(['--scan-ports', '7', '--scan-quiet=2s'], {
    ARMORWATCH_SCAN_PORTS: '9', ARMORWATCH_SCAN_HOSTS: '11', ARMORWATCH_SCAN_WINDOW: '3s', ARMORWATCH_SCAN_SLOW_WINDOW: '1m',
    ARMORWATCH_SCAN_SLOW_PORTS: '12', ARMORWATCH_SCAN_SLOW_HOSTS: '13', ARMORWATCH_SCAN_UPDATE_INTERVAL: '10s',
    ARMORWATCH_SCAN_MAX_KEYS: '100', ARMORWATCH_SCAN_MAX_TARGETS: '200',
  });
  assert.deepEqual(c.scan, {
    windowMs: 3000, ports: 7, hosts: 11, slowWindowMs: 60_000, slowPorts: 12, slowHosts: 13,
    updateIntervalMs: 10_000, quietMs: 2000, maxKeys: 100, maxTargets: 200,
  });
});

test('--scan-detection=false (or the variable) turns it off', () => {
  assert.equal(parse(['--scan-detection=false']).scan, null);
  assert.equal(parse([], { ARMORWATCH_SCAN_DETECTION: 'false' }).scan, null);
  assert.notEqual(parse(['--scan-detection'], { ARMORWATCH_SCAN_DETECTION: 'false' }).scan, null, 'the flag wins');
});

test('bad values are usage errors naming their source', () => {
  usage(['--scan-ports', '1'], {}, /--scan-ports: invalid value "1": expected a whole number of 2 or more/);
  usage([], { ARMORWATCH_SCAN_HOSTS: 'many' }, /ARMORWATCH_SCAN_HOSTS: invalid value "many"/);
  usage(['--scan-window', '0'], {}, /--scan-window: .*greater than 0/);
  usage(['--scan-window', '10m'], {}, /--scan-window: .*slow window \(5m\) cannot be shorter than --scan-window \(10m\)/);
  usage(['--scan-slow-window', '5s'], {}, /--scan-slow-window: .*cannot be shorter/);
  usage(['--scan-max-targets', '30'], {}, /--scan-max-targets: .*64 distinct targets can never be counted with --scan-max-targets 30/);
  usage(['--scan-detection=maybe'], {}, /--scan-detection: invalid value "maybe": expected true or false/);
});
