import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SYSCALLS } from '../../src/syscalls.ts';
import { execFilterCommand, firstComponentKey, fnv1a64, kernelFilterEntries, networkFilterCommand, pathFilterCommand, processFilterCommand, wantsNetwork } from '../../src/monitor/filter.ts';
import { openMonitor } from '../../src/monitor/index.ts';
import { silentLogger } from '../../src/log.ts';
import { MonitorError } from '../../src/monitor/errors.ts';

test('fnv1a64 matches the published FNV-1a 64 test vectors', () => {
  assert.equal(fnv1a64(''), 0xcbf29ce484222325n);
  assert.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv1a64('foobar'), 0x85944171f73967e8n);
});

test('the hash constants in the kernel program are the hashes their comments name', () => {
  const src = readFileSync(new URL('../../bpf/armorwatch.bpf.c', import.meta.url), 'utf8');
  const consts = [...src.matchAll(/#define (H_\w+) 0x([0-9a-f]+)ULL\s*\/\* fnv1a\("([^"]*)"\)/g)];
  assert.ok(consts.length >= 6, 'expected the H_* constants with their fnv1a("...") comments');
  for (const [, name, hex, text] of consts) assert.equal(BigInt(`0x${hex}`), fnv1a64(text!), `${name} = fnv1a("${text}")`);
});

test('path filter command carries pass-all and the hashes of every entry', () => {
  const cmd = pathFilterCommand({ passAll: false, exactPaths: ['/etc/hostname'], dirPrefixes: ['/etc/network/'] });
  assert.equal(cmd, `paths 0 ${fnv1a64('/etc/hostname').toString(16)} ${fnv1a64('/etc/network/').toString(16)} 637465 -`); // "etc", byte i at bits 8i
  assert.equal(pathFilterCommand({ passAll: true, exactPaths: [], dirPrefixes: [] }), 'paths 1 - - - -');
});

test('every file call of the syscall table has a bit of its own in the kernel\'s call mask', () => {
  const src = readFileSync(new URL('../../bpf/armorwatch_filter.h', import.meta.url), 'utf8');
  const body = src.slice(src.indexOf('aw_call_bit(long nr)'));
  const bits = new Map([...body.slice(0, body.indexOf('return 0;')).matchAll(/case (\d+): return 1u << (\d+);/g)].map(([, nr, bit]) => [Number(nr), Number(bit)]));
  const fileCalls = Object.values(SYSCALLS).filter((c) => c.operation === 'File').map((c) => c.nr).sort((a, b) => a - b);
  assert.deepEqual([...bits.keys()].sort((a, b) => a - b), fileCalls);
  assert.equal(new Set(bits.values()).size, bits.size, 'two calls share a bit');
  assert.ok(Math.max(...bits.values()) < 31, 'a view (aw_view) holds the side in bit 0 and the call bits above it');
  // The open-like calls share their verdicts: AW_OPEN_CALLS holds the bits of every call with open(2) flags.
  const open = /#define AW_OPEN_CALLS \(([^\n]*)\)\n/.exec(src)?.[1] ?? '';
  const openBits = [...open.matchAll(/1u << (\d+)/g)].map(([, b]) => Number(b)).sort((a, b) => a - b);
  const opens = Object.values(SYSCALLS).filter((c) => c.operation === 'File' && c.flags === 'open').map((c) => bits.get(c.nr)!).sort((a, b) => a - b);
  assert.deepEqual(openBits, opens);
});

test('an entry for some calls carries their numbers; other entries pass every call', () => {
  const cmd = pathFilterCommand({ passAll: false, exactPaths: ['/etc/shadow', '/proc/self/status'], dirPrefixes: ['/etc/ssh/'],
    pathCalls: { '/etc/shadow': ['chmod', 'fchmodat'], '/proc/self/status': ['unlink'] } });
  const [, , exact, prefixes] = cmd.split(' ');
  assert.deepEqual(exact!.split(','), [`${fnv1a64('/etc/shadow').toString(16)}=90.268`, `${fnv1a64('/proc/self/status').toString(16)}=87`, `${fnv1a64('/proc/status').toString(16)}=87`],
    'the /proc/... form of an entry lets the same calls through');
  assert.equal(prefixes, fnv1a64('/etc/ssh/').toString(16));
  assert.throws(() => pathFilterCommand({ passAll: false, exactPaths: ['/a'], dirPrefixes: [], pathCalls: { '/a': ['connect'] } }), /"connect" is not a file call/);
  assert.throws(() => pathFilterCommand({ passAll: false, exactPaths: ['/a'], dirPrefixes: [], pathCalls: { '/b': ['chmod'] } }), /"\/b", which is not one of its paths/);
});

test('calls that pass whatever their path go by their x86_64 numbers; a call that is not a file call is refused', () => {
  assert.match(pathFilterCommand({ passAll: false, exactPaths: [], dirPrefixes: [], passCalls: ['unlink', 'unlinkat'] }), / 87,263$/);
  assert.throws(() => pathFilterCommand({ passAll: false, exactPaths: [], dirPrefixes: [], passCalls: ['execve'] }), /"execve" is not a file call/);
  assert.throws(() => pathFilterCommand({ passAll: false, exactPaths: [], dirPrefixes: [], passCalls: ['toString'] }), /"toString" is not a file call/);
});

test('first-component keys: the first 8 bytes of the first component, byte i at bits 8i', () => {
  assert.equal(firstComponentKey('/etc/passwd'), 0x637465n); // "etc" read as a little-endian number
  assert.equal(firstComponentKey('/etc'), 0x637465n);
  assert.equal(firstComponentKey('/containerd/x'), BigInt(`0x${Buffer.from('containe').reverse().toString('hex')}`));
  assert.equal(firstComponentKey('/é/x'), 0xa9c3n); // UTF-8 bytes
  assert.equal(firstComponentKey('/'), null);
});

test('the first-component list has one key per component, and screens nothing when an entry is "/"', () => {
  const firsts = (exactPaths: string[], dirPrefixes: string[]): string => pathFilterCommand({ passAll: false, exactPaths, dirPrefixes }).split(' ')[4]!;
  assert.equal(firsts(['/etc/a', '/etc/b'], ['/var/log/']), `${(0x637465).toString(16)},${(0x726176).toString(16)}`);
  assert.equal(firsts([], ['/']), '*');
  assert.equal(firsts(['/'], []), '*');
  assert.equal(firsts([], []), '-');
});

test('a /proc/self or /proc/<pid> entry is also added in its /proc form', () => {
  const cmd = pathFilterCommand({ passAll: false, exactPaths: ['/proc/self/net/tcp'], dirPrefixes: ['/proc/1/fd/'] });
  const [, , exact, prefixes] = cmd.split(' ');
  assert.deepEqual(exact!.split(','), [fnv1a64('/proc/self/net/tcp'), fnv1a64('/proc/net/tcp')].map((h) => h.toString(16)));
  assert.deepEqual(prefixes!.split(','), [fnv1a64('/proc/1/fd/'), fnv1a64('/proc/fd/')].map((h) => h.toString(16)));
});

test('entries counted as inserted (a /proc/<pid> path twice)', () => {
  const spec = { passAll: false, exactPaths: ['/proc/self/environ', '/etc/a'], dirPrefixes: ['/run/'] };
  assert.deepEqual(kernelFilterEntries(spec), { exactPaths: 3, dirPrefixes: 1 });
  assert.equal(pathFilterCommand(spec).split(' ')[2]!.split(',').length, 3);
  assert.deepEqual(kernelFilterEntries({ ...spec, passAll: true }), { exactPaths: 0, dirPrefixes: 0 });
});

test('relative paths and prefixes without a trailing slash are refused with the entry named', () => {
  assert.throws(() => pathFilterCommand({ passAll: false, exactPaths: ['etc/passwd'], dirPrefixes: [] }),
    (e: unknown) => e instanceof MonitorError && e.code === 'AW_MONITOR_FILTER' && e.message.includes('"etc/passwd"'));
  assert.throws(() => pathFilterCommand({ passAll: false, exactPaths: [], dirPrefixes: ['/etc'] }), /"\/etc" must start and end with "\/"/);
});

test('process filter command: pids, comms in hex cut to 15 bytes, exclusions', () => {
  assert.equal(processFilterCommand({ pids: [12, 34], comms: ['cat'], excludePids: [99] }), 'procs 12,34 636174 99');
  assert.equal(processFilterCommand({ pids: [], comms: ['a-very-long-command-name'], excludePids: [] }),
    `procs - ${Buffer.from('a-very-long-com').toString('hex')} -`);
  assert.throws(() => processFilterCommand({ pids: [-1], comms: [], excludePids: [] }), /-1 is not a process id/);
});

test('exec filter command carries pass-all and the hashes of paths, directories and base names; bad entries are refused', () => {
  assert.equal(execFilterCommand(), 'execs 0 - - -');
  assert.equal(execFilterCommand({ passAll: false, paths: ['/usr/bin/apt'], dirs: ['/usr/sbin/'], names: ['apt'] }),
    `execs 0 ${fnv1a64('/usr/bin/apt').toString(16)} ${fnv1a64('/usr/sbin/').toString(16)} ${fnv1a64('apt').toString(16)}`);
  assert.match(execFilterCommand({ passAll: true, paths: [], dirs: [], names: [] }), /^execs 1 /);
  const isFilter = (e: unknown): boolean => e instanceof MonitorError && e.code === 'AW_MONITOR_FILTER';
  assert.throws(() => execFilterCommand({ passAll: false, paths: ['apt'], dirs: [], names: [] }), isFilter);
  assert.throws(() => execFilterCommand({ passAll: false, paths: [], dirs: ['/usr/bin'], names: [] }), isFilter);
  assert.throws(() => execFilterCommand({ passAll: false, paths: [], dirs: [], names: ['bin/apt'] }), isFilter);
});

test('a monitor opened without onExec refuses a filter that passes executions, before starting anything', async () => {
  await assert.rejects(openMonitor({
    logger: silentLogger, ringbufBytes: 1 << 22, onEvent: () => {},
    pathFilter: { passAll: true, exactPaths: [], dirPrefixes: [], exec: { passAll: true, paths: [], dirs: [], names: [] } },
    processFilter: { pids: [], comms: [], excludePids: [] },
  }), /passes executions but the monitor was opened without onExec/);
});

test('the network filter command: call bits from the table, protocols or any, refusals for unknown calls', () => {
  assert.equal(networkFilterCommand(), 'net 0 0 *');
  assert.equal(networkFilterCommand({ passAll: true, calls: [], protocols: [] }), 'net 1 0 *');
  assert.equal(networkFilterCommand({ passAll: false, calls: ['connect', 'accept4'], protocols: [6, 17, 6] }), 'net 0 10 6,17');
  assert.equal(networkFilterCommand({ passAll: false, calls: ['socket', 'listen'], protocols: [] }), 'net 0 33 *');
  assert.throws(() => networkFilterCommand({ passAll: false, calls: ['sendto' as 'connect'], protocols: [] }), /network call "sendto"/);
  assert.throws(() => networkFilterCommand({ passAll: false, calls: ['bind'], protocols: [-1] }), /protocol -1/);
  assert.equal(wantsNetwork(undefined), false);
  assert.equal(wantsNetwork({ passAll: false, calls: [], protocols: [6] }), false);
  assert.equal(wantsNetwork({ passAll: false, calls: ['bind'], protocols: [] }), true);
});
