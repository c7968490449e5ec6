// `armorwatch trace` as a user runs it: bin/armorwatch, JSON lines on stdout, clean stop on SIGINT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { needsBpf } from '../helpers/privileges.ts';
import { readableCopy } from '../helpers/readable-copy.ts';
import { join } from 'node:path';
import fc from 'fast-check';
import { LineSink, TraceLines, traceExecLine, traceLine, traceNetworkLine } from '../../src/cli/trace.ts';
import { PassThrough } from 'node:stream';
import { formatCallFlags, formatData, formatResult, syscallName } from '../../src/format/index.ts';
import { SYSCALL_NUMBERS } from '../../src/monitor/decode.ts';
import type { ExecEvent, FileEvent, NetworkEvent } from '../../src/types.ts';

const BIN = fileURLToPath(new URL('../../bin/armorwatch', import.meta.url));
const ENV = { ...process.env, ARMORWATCH_FROM_SOURCE: '1', ARMORWATCH_LOG_LEVEL: 'info' };

test('trace --pid streams the process\'s file accesses as KubeArmor-shaped JSON lines and stops cleanly on SIGINT', async (t) => {
  if (!needsBpf(t)) return;
  // A shell that opens /etc/hostname itself (a redirection, no child) once told to go.
  const target = spawn('/bin/bash', ['-c', 'read go; : < /etc/hostname; cat /nonexistent-aw 2>/dev/null; read done'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const trace = spawn(BIN, ['trace', '--pid', String(target.pid)], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  trace.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  trace.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  try {
    await waitUntil(() => err.includes('file monitor attached'), () => `trace did not attach; stderr:\n${err}`, 60_000); // loading takes seconds on a busy machine
    const helperPid = Number(/"helperPid":(\d+)/.exec(err)?.[1]);
    target.stdin.write('go\n');
    await waitUntil(() => out.includes('"/etc/hostname"'), () => `no line for /etc/hostname; stdout:\n${out}\nstderr:\n${err}`);
    trace.kill('SIGINT');
    const [code] = await once(trace, 'exit') as [number | null];
    assert.equal(code, 0, `exit status; stderr:\n${err}`);
    assert.equal(existsSync(`/proc/${helperPid}`), false, 'the helper exited with the trace');

    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.every((l) => l.HostPID === target.pid), '--pid keeps other processes out');
    const hit = lines.find((l) => l.Resource === '/etc/hostname')!;
    assert.equal(hit.Operation, 'File');
    assert.equal(hit.Type, 'HostLog');
    assert.equal(hit.Result, 'Passed');
    assert.match(String(hit.Data), /^syscall=SYS_OPENAT fd=-100 flags=O_RDONLY/);
    assert.equal(hit.ProcessName, realpathSync('/bin/bash'));
    assert.equal(hit.Source, realpathSync('/bin/bash'));
    assert.equal(hit.PID, target.pid);
    assert.equal(typeof hit.HostPPID, 'number');
    assert.match(String(hit.UpdatedTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(hit.ResolvedPath, '/etc/hostname');
    assert.equal(hit.RequestedPath, '/etc/hostname');
    for (const k of ['HostTID', 'GID', 'Comm', 'CgroupID', 'MntNS', 'PidNS', 'NetNS', 'Syscall', 'Dirfd', 'Flags', 'Ret', 'OwnerUID', 'Cwd']) {
      assert.ok(k in hit, `${k} present`);
    }
    assert.match(err, /events delivered, 0 lost in the kernel/);
  } finally {
    target.kill();
    trace.kill('SIGKILL');
  }
});

test('trace without privileges exits 1 and says what is missing', (t) => {
  if (!needsBpf(t)) return; // needs root to drop to nobody
  // uid 65534 may not reach the checkout (under /root, mode 0700): it runs a readable copy.
  const bin = join(readableCopy(t), 'bin/armorwatch');
  const r = spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', bin, 'trace'], { env: ENV, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /needs root, or CAP_BPF and CAP_PERFMON \(running as uid 65534/);
  assert.match(r.stderr, /AW_MONITOR_PRIVILEGES/);
});

test('trace rejects a bad --pid with a usage error', () => {
  const r = spawnSync(BIN, ['trace', '--pid', 'abc'], { env: ENV, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--pid expects a process id, got "abc"/);
});

async function waitUntil(cond: () => boolean, why: () => string, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(why());
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sample: FileEvent = {
  timestampNs: 1_700_000_000_123_456_789n, hostPid: 1000, hostTid: 1001, hostPpid: 999, pid: 7, ppid: 1, uid: 0, gid: 0, euid: 0,
  comm: 'we"ird', tty: null, exePath: '/bin/ls', parentExePath: '/bin/bash', cgroupId: 12345n, mntNs: 1, pidNs: 2, netNs: 3,
  syscall: 'openat', dirfd: -100, flags: 0o4000 | 0o200000 | 0o2000000, mode: 0, args: {}, ret: 3,
  path: '/etc/network/if-up.d', absPath: '/etc/network/if-up.d', resolvedPath: '/etc/network/if-up.d',
  path2: null, absPath2: null, cwd: '/etc/network\nx', ownerUid: 0,
};

test('a trace line is valid JSON in KubeArmor\'s shape, with strings escaped', () => {
  const rec = JSON.parse(traceLine(sample, 'node-1', null)) as Record<string, unknown>;
  assert.equal(rec.Timestamp, 1_700_000_000);
  assert.equal(rec.UpdatedTime, '2023-11-14T22:13:20.123456789Z');
  assert.equal(rec.Data, 'syscall=SYS_OPENAT fd=-100 flags=O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC');
  assert.equal(rec.Result, 'Passed');
  assert.equal(rec.Type, 'HostLog');
  assert.equal('ContainerID' in rec, false);
  assert.equal(rec.Comm, 'we"ird');
  assert.equal(rec.Cwd, '/etc/network\nx');
  assert.equal(rec.CgroupID, '12345');
  assert.equal(rec.TimestampNs, '1700000000123456789');
  assert.equal(rec.NewResource, null);
});

test('a container event carries ContainerID and Type ContainerLog; a failure its errno text', () => {
  const rec = JSON.parse(traceLine({ ...sample, ret: -13, resolvedPath: null, ownerUid: null }, 'n', 'ab'.repeat(32))) as Record<string, unknown>;
  assert.equal(rec.ContainerID, 'ab'.repeat(32));
  assert.equal(rec.Type, 'ContainerLog');
  assert.equal(rec.Result, 'Permission denied');
  assert.equal(rec.OwnerUID, null);
  assert.equal(rec.ResolvedPath, null);
});

/** The line as docs/TRACE.md defines it, built the plain way: an object through JSON.stringify. */
function reference(ev: FileEvent, host: string, containerId: string | null): string {
  const sec = ev.timestampNs / 1_000_000_000n;
  const iso = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  return JSON.stringify({
    Timestamp: Number(sec), UpdatedTime: `${iso}.${(ev.timestampNs % 1_000_000_000n).toString().padStart(9, '0')}Z`, HostName: host,
    ...(containerId === null ? {} : { ContainerID: containerId }),
    HostPPID: ev.hostPpid, HostPID: ev.hostPid, PPID: ev.ppid, PID: ev.pid, UID: ev.uid,
    ParentProcessName: ev.parentExePath, ProcessName: ev.exePath, Type: containerId === null ? 'HostLog' : 'ContainerLog',
    Source: ev.exePath, Resource: ev.absPath, Operation: 'File', Data: formatData(ev), Result: formatResult(ev.ret),
    Cwd: ev.cwd, HostTID: ev.hostTid, GID: ev.gid, Comm: ev.comm, CgroupID: String(ev.cgroupId),
    MntNS: ev.mntNs, PidNS: ev.pidNs, NetNS: ev.netNs, EUID: ev.euid, TTY: ev.tty, Syscall: syscallName(ev.syscall), Dirfd: ev.dirfd,
    Flags: formatCallFlags(ev) ?? null, Mode: ev.mode, Args: ev.args, Ret: ev.ret, RequestedPath: ev.path,
    ResolvedPath: ev.resolvedPath, NewRequestedPath: ev.path2, NewResource: ev.absPath2, OwnerUID: ev.ownerUid,
    TimestampNs: String(ev.timestampNs),
  });
}

const ARGS: Partial<Record<FileEvent['syscall'], (n: number) => Record<string, number>>> = {
  chown: (n) => ({ uid: n, gid: n + 1 }), fchownat: (n) => ({ uid: n, gid: n + 1 }), openat2: (n) => ({ resolve: n & 0x3f }),
  renameat: (n) => ({ newdirfd: n }), renameat2: (n) => ({ newdirfd: n }), truncate: (n) => ({ length: n }),
};
const RENAMES = new Set(['rename', 'renameat', 'renameat2']);

test('trace lines are byte for byte the documented JSON, event after event of the same processes', () => {
  const syscalls = Object.keys(SYSCALL_NUMBERS) as FileEvent['syscall'][];
  // Few distinct values per field, so that processes come back with some fields changed and some not.
  const str = fc.constantFrom('/bin/ls', '/bin/sh', '/tmp/a"b', '/x\\y', 'caf\u00e9', '/etc/\n', '');
  const event = fc.record({
    ns: fc.bigInt({ min: 1n, max: 2_000_000_000_000_000_000n }), hostPid: fc.constantFrom(1, 2, 3), hostTid: fc.constantFrom(1, 2, 9),
    n: fc.constantFrom(0, 1, 1000, 4294967295), syscall: fc.constantFrom(...syscalls), dirfd: fc.constantFrom(-100, 3),
    flags: fc.constantFrom(0, 0o2000000 | 0o100, 0x200, 1), mode: fc.constantFrom(0, 0o644), ret: fc.constantFrom(0, 3, -2, -13),
    exe: str, pexe: str, cwd: str, comm: str, path: str, abs: str, resolved: fc.option(str), path2: fc.option(str),
    cgroup: fc.constantFrom(1n, 18446744073709551615n), owner: fc.option(fc.constantFrom(0, 1000)),
    euid: fc.constantFrom(0, 1000), tty: fc.option(fc.constantFrom('pts0', 'pts12', 'tty"1')),
    host: fc.constantFrom('node-1', 'n"2'), container: fc.option(fc.constantFrom('ab'.repeat(32))),
  });
  fc.assert(fc.property(fc.array(event, { minLength: 1, maxLength: 30 }), (list) => {
    const lines = new TraceLines();
    for (const e of list) {
      const rename = RENAMES.has(e.syscall);
      const ev: FileEvent = {
        timestampNs: e.ns, hostPid: e.hostPid, hostTid: e.hostTid, hostPpid: e.n, pid: e.hostPid, ppid: e.n, uid: e.n, gid: e.n,
        euid: e.euid, comm: e.comm, tty: e.tty, exePath: e.exe, parentExePath: e.pexe, cgroupId: e.cgroup, mntNs: e.n, pidNs: e.n, netNs: e.n,
        syscall: e.syscall, dirfd: e.dirfd, flags: e.flags, mode: e.mode, args: ARGS[e.syscall]?.(e.n) ?? {}, ret: e.ret,
        path: e.path, absPath: e.abs, resolvedPath: e.resolved, path2: rename ? (e.path2 ?? 'n') : null,
        absPath2: rename ? `/${e.path2 ?? 'n'}` : null, cwd: e.cwd, ownerUid: e.owner,
      };
      assert.equal(lines.line(ev, e.host, e.container), reference(ev, e.host, e.container));
    }
  }), { numRuns: 300 });
});

test('the line sink writes every line once, in order, across buffer refills', async () => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (b: Buffer) => chunks.push(b));
  const sink = new LineSink(out, new TraceLines());
  // Enough lines, some long, to fill the 1 MiB buffer several times; paths change every event.
  const events = Array.from({ length: 6000 }, (_, i): FileEvent => ({
    ...sample, hostPid: 1000 + (i % 7), timestampNs: sample.timestampNs + BigInt(i * 1_000_003),
    path: `/d/${'x'.repeat(i % 5 === 0 ? 3000 : 10)}/${i}`, absPath: `/d/${i}`,
  }));
  for (const ev of events) sink.push(ev, 'node-1', null);
  sink.flush();
  await new Promise((resolve) => setImmediate(resolve));
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  assert.equal(lines.pop(), '', 'the output ends with a newline');
  assert.equal(lines.length, events.length);
  lines.forEach((l, i) => assert.equal(l, reference(events[i]!, 'node-1', null)));
  assert.ok(chunks.length > 1, 'more than one write: the buffer was refilled');
});

test('trace prints executions as Operation: Process lines: the command line, the program run, the caller', async (t) => {
  if (!needsBpf(t)) return;
  // The shell execs in its own pid (so --pid keeps it): a missing program first (execfail: the
  // shell goes on), then /bin/true.
  const target = spawn('/bin/bash', ['-c', 'shopt -s execfail; read go; exec /nonexistent-aw-exec 2>/dev/null; exec /bin/true traced-arg "two words"'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const trace = spawn(BIN, ['trace', '--pid', String(target.pid)], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  trace.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  trace.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  try {
    await waitUntil(() => err.includes('file monitor attached'), () => `trace did not attach; stderr:\n${err}`, 60_000); // loading takes seconds on a busy machine
    target.stdin.write('go\n');
    await waitUntil(() => out.includes('"Operation":"Process","Data":"syscall=SYS_EXECVE","Result":"Passed"'), () => `no exec line; stdout:\n${out}`);
    trace.kill('SIGINT');
    await once(trace, 'exit');
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const hit = lines.find((l) => l.Operation === 'Process' && l.Result === 'Passed')!;
    assert.equal(hit.HostPID, target.pid);
    assert.equal(hit.Resource, '/bin/true traced-arg two words');
    assert.deepEqual(hit.Argv, ['/bin/true', 'traced-arg', 'two words']);
    assert.equal(hit.ProcessName, realpathSync('/bin/true'));
    assert.equal(hit.Source, realpathSync('/bin/bash'));
    assert.equal(hit.RequestedPath, '/bin/true');
    assert.equal(hit.Syscall, 'SYS_EXECVE');
    assert.equal(hit.TTY, null);
    assert.equal(hit.ArgvTruncated, false);
    const failed = lines.find((l) => l.Operation === 'Process' && l.RequestedPath === '/nonexistent-aw-exec');
    assert.ok(failed !== undefined, 'the failed exec has a line too');
    assert.equal(failed.Result, 'No such file or directory');
    assert.equal(failed.ResolvedPath, null);
    assert.match(err, /exec hook tp_btf/);
  } finally {
    target.kill();
    trace.kill('SIGKILL');
  }
});

test('an execution line is valid JSON with its strings escaped, execveat with its dirfd and flags', () => {
  const ev: ExecEvent = {
    kind: 'process', timestampNs: 1_700_000_000_000_000_001n, hostPid: 5, hostTid: 5, hostPpid: 4, pid: 2, ppid: 1, uid: 1000, gid: 1000, euid: 0,
    comm: 'x"y', exePath: '/usr/bin/su', callerExePath: '/bin/sh', parentExePath: '/bin/bash', cgroupId: 9n, mntNs: 1, pidNs: 2, netNs: 3,
    syscall: 'execveat', dirfd: 3, flags: 0x1000, ret: 0, path: 'su', absPath: '/usr/bin/su', resolvedPath: '/usr/bin/su', ownerUid: 0,
    argv: ['su', '-c', 'a\nb'], argvTruncated: true, tty: 'pts1', cwd: '/root',
  };
  const rec = JSON.parse(traceExecLine(ev, 'n"1', 'ab'.repeat(32))) as Record<string, unknown>;
  assert.equal(rec.Operation, 'Process');
  assert.equal(rec.Type, 'ContainerLog');
  assert.equal(rec.Resource, '/usr/bin/su -c a\nb');
  assert.equal(rec.Data, 'syscall=SYS_EXECVEAT fd=3 flags=AT_EMPTY_PATH');
  assert.deepEqual([rec.TTY, rec.EUID, rec.UID, rec.ArgvTruncated, rec.Comm, rec.HostName], ['pts1', 0, 1000, true, 'x"y', 'n"1']);
  assert.equal(rec.TimestampNs, '1700000000000000001');
  // docs/TRACE.md's example execution line has exactly these fields, in this order.
  const doc = readFileSync(new URL('../../docs/TRACE.md', import.meta.url), 'utf8').split('\n').find((l) => l.includes('"Operation":"Process"'))!;
  const host = JSON.parse(traceExecLine({ ...ev, syscall: 'execve', dirfd: -100 }, 'vm', null)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(host), Object.keys(JSON.parse(doc) as Record<string, unknown>));
});

test('a network line: Operation Network, KubeArmor\'s Resource and Data, the phase, the socket triple and both addresses', () => {
  const ev: NetworkEvent = {
    kind: 'network', timestampNs: 1_700_000_000_000_000_002n, hostPid: 5, hostTid: 6, hostPpid: 4, pid: 2, ppid: 1, uid: 1000, gid: 1000, euid: 1000,
    comm: 'curl', exePath: '/usr/bin/curl', parentExePath: '/bin/bash', cgroupId: 9n, mntNs: 1, pidNs: 2, netNs: 3, tty: null, cwd: '/root',
    syscall: 'connect', phase: 'outcome', fd: 5, ret: -111, domain: 10, type: 1, protocol: 6,
    remote: { family: 'inet6', address: '::ffff:10.0.0.7', port: 5432, mappedV4: '10.0.0.7' }, local: null,
  };
  const rec = JSON.parse(traceNetworkLine(ev, 'vm', null)) as Record<string, unknown>;
  assert.equal(rec.Operation, 'Network');
  assert.equal(rec.Resource, 'remoteip=::ffff:10.0.0.7 port=5432 protocol=TCP');
  assert.equal(rec.Data, 'syscall=SYS_CONNECT fd=5');
  assert.equal(rec.Result, 'Connection refused');
  assert.deepEqual([rec.Phase, rec.Fd, rec.Ret, rec.Domain, rec.SocketType, rec.Protocol], ['outcome', 5, -111, 'AF_INET6', 'SOCK_STREAM', 'TCP']);
  assert.deepEqual(rec.Remote, { Family: 'inet6', Address: '::ffff:10.0.0.7', Port: 5432, MappedIPv4: '10.0.0.7' });
  assert.equal(rec.Local, null);
  const unix = JSON.parse(traceNetworkLine({ ...ev, syscall: 'bind', phase: 'call', ret: 0, domain: 1, protocol: 0, remote: null, local: { family: 'unix', path: 'x11', abstract: true } }, 'vm', null)) as Record<string, unknown>;
  assert.equal(unix.Resource, 'localpath=@x11 protocol=IP');
  assert.deepEqual(unix.Local, { Family: 'unix', Address: '@x11' });
  // docs/TRACE.md's example network line has exactly these fields, in this order.
  const doc = readFileSync(new URL('../../docs/TRACE.md', import.meta.url), 'utf8').split('\n').find((l) => l.includes('"Operation":"Network"'))!;
  assert.deepEqual(Object.keys(rec), Object.keys(JSON.parse(doc) as Record<string, unknown>));
});
