// The kernel program keeps its own syscall numbers and argument positions in C. This test reads the
// C source and checks every one of them against the one TypeScript table (src/syscalls.ts), and the
// decoder's number map too, so that neither side can drift from the other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EXEC_SYSCALL_NAMES, FILE_SYSCALL_NAMES, NETWORK_SYSCALL_NAMES, SYSCALLS, syscallByNumber, type ArgShape, type SyscallInfo } from '../src/syscalls.ts';
import { NETWORK_SYSCALLS } from '../src/types.ts';

// The kernel program and the headers it includes for its own parts (identities, io_uring opens).
const BPF = ['armorwatch.bpf.c', 'identity.bpf.h', 'uring.bpf.h']
  .map((f) => readFileSync(new URL(`../bpf/${f}`, import.meta.url), 'utf8')).join('\n');
/** The calls seen through their own system call hooks (not io_uring's completions). */
const HOOKED_FILE_CALLS = FILE_SYSCALL_NAMES.filter((n) => SYSCALLS[n].via !== 'io_uring');
const TABLE: ReadonlyMap<string, SyscallInfo> = new Map(Object.values(SYSCALLS).map((s) => [s.name, s]));

function info(name: string): SyscallInfo {
  const s = TABLE.get(name);
  assert.ok(s, `the C side names ${name}, which src/syscalls.ts lacks: add it to the table`);
  return s;
}

/** The body of a C function, from its signature to the closing brace at column 0. */
function cFunction(signature: RegExp): string {
  const m = signature.exec(BPF);
  assert.ok(m, `found ${signature}`);
  const end = BPF.indexOf('\n}', m.index);
  return BPF.slice(m.index, end);
}

/** `case NR_a: case NR_b: <statements up to break/return>` groups of a switch body. */
function caseGroups(body: string): Array<{ names: string[]; stmts: string }> {
  const out: Array<{ names: string[]; stmts: string }> = [];
  const re = /((?:case NR_\w+:\s*)+)([\s\S]*?)(?:break;|return 1;|\})/g;
  for (const m of body.matchAll(re)) {
    out.push({ names: [...(m[1] as string).matchAll(/NR_(\w+)/g)].map((x) => x[1] as string), stmts: m[2] as string });
  }
  return out;
}

test('every #define NR_* in the kernel program is the table\'s x86_64 number for that call', () => {
  const defines = [...BPF.matchAll(/^#define NR_(\w+)\s+(\d+)/gm)].map((m) => [m[1] as string, Number(m[2])] as const);
  assert.ok(defines.length >= FILE_SYSCALL_NAMES.length, `parsed ${defines.length} defines`);
  for (const [name, nr] of defines) assert.equal(nr, info(name).nr, `NR_${name}`);
  const defined = new Set(defines.map(([n]) => n));
  for (const name of FILE_SYSCALL_NAMES) assert.ok(defined.has(name), `the kernel program defines NR_${name}`);
  // The execution hooks arrive with the exec work; once the C side names them they must agree too (checked above).
  for (const name of EXEC_SYSCALL_NAMES) if (defined.has(name)) assert.equal(info(name).operation, 'Process');
});

test('the kernel program reads the path, second path and dirfds from the argument positions the table gives', () => {
  const body = cFunction(/static __always_inline int syscall_shape\(/) + cFunction(/static __always_inline int evasion_shape\(/);
  const groups = caseGroups(body);
  const seen = new Set<string>();
  const field: Record<string, ArgShape> = { path: 'path', path2: 'path2', dirfd: 'dirfd', dirfd2: 'newdirfd' };
  for (const g of groups) {
    const set = Object.fromEntries([...g.stmts.matchAll(/sh->(\w+) = (\d+);/g)].map((m) => [m[1] as string, Number(m[2])]));
    for (const name of g.names) {
      seen.add(name);
      const s = info(name);
      for (const [f, shape] of Object.entries(field)) {
        const want = s.args.indexOf(shape);
        assert.equal(set[f] ?? -1, want, `${name}: sh->${f} is argument ${want} (${shape}) in the table`);
      }
      assert.equal(set.is_open === 1, s.flags === 'open', `${name}: is_open iff the table spells its flags as open(2) flags`);
    }
  }
  for (const name of HOOKED_FILE_CALLS) assert.ok(seen.has(name), `syscall_shape covers ${name}`);
});

test('flags, mode and numeric arguments are read from the positions the table gives', () => {
  // The switch that fills the event's flags/mode/arg_a/arg_b from the saved arguments.
  const start = BPF.indexOf('switch (nr) {\n\tcase NR_open: e->flags');
  assert.ok(start > 0, 'found the argument switch');
  const body = BPF.slice(start, BPF.indexOf('off = put_user(hp, off, p.args[sh.path', start));
  const allowed: Record<string, readonly ArgShape[]> = { flags: ['flags'], mode: ['mode'], arg_a: ['uid', 'length'], arg_b: ['gid'] };
  let checked = 0;
  for (const g of caseGroups(body)) {
    for (const name of g.names) {
      const s = info(name);
      for (const m of g.stmts.matchAll(/e->(\w+) = (?:\(__u32\))?p\.args\[(\d)\]/g)) {
        const shape = s.args[Number(m[2])];
        assert.ok(shape !== undefined && (allowed[m[1] as string] ?? []).includes(shape), `${name}: e->${m[1]} reads argument ${m[2]}, which the table calls ${shape}`);
        checked++;
      }
      for (const m of g.stmts.matchAll(/bpf_probe_read_user\(&how, sizeof\(how\), \(void \*\)p\.args\[(\d)\]\)/g)) {
        assert.equal(s.args[Number(m[1])], 'how', `${name}: open_how is argument ${m[1]}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 12, `checked ${checked} argument reads`);
});

test('each reported call has its tracepoint programs, entry ones with the table\'s argument count', () => {
  for (const m of BPF.matchAll(/^AW_SYSCALL_TP\((\w+), (\d)\)/gm)) {
    assert.equal(Number(m[2]), info(m[1] as string).args.length, `${m[1]} takes ${info(m[1] as string).args.length} arguments`);
  }
  const exits = new Set([...BPF.matchAll(/^AW_SYSCALL_TP(?:_EXIT)?\((\w+)/gm)].map((m) => m[1] as string));
  for (const name of HOOKED_FILE_CALLS) assert.ok(exits.has(name), `a tracepoint program for ${name}`);
  // io_uring opens: the completion hook reports them under the table's number.
  for (const name of FILE_SYSCALL_NAMES.filter((n) => SYSCALLS[n].via === 'io_uring')) {
    assert.match(BPF, new RegExp(`put_identity\\(e, task, NR_${name}, ret\\)`), `the io_uring hook reports ${name}`);
  }
});

test('the table itself: unique numbers, SYS_ names, data labels only for arguments the call has', () => {
  const numbers = Object.values(SYSCALLS).map((s) => s.nr);
  assert.equal(new Set(numbers).size, numbers.length);
  for (const s of Object.values(SYSCALLS)) {
    assert.equal(s.display, `SYS_${s.name.toUpperCase()}`);
    for (const [, v] of s.data) {
      const needs: Partial<Record<string, ArgShape>> = { sockfd: 'sockfd', dirfd: 'dirfd', newdirfd: 'newdirfd', newpath: 'path2', uid: 'uid', gid: 'gid', length: 'length', resolve: 'how', mode: 'mode' };
      const arg = needs[v];
      // fchmodat prints a flags word it does not have (KubeArmor's format); everything else is an argument.
      if (arg !== undefined) assert.ok(s.args.includes(arg) || (s.name === 'creat' && v === 'mode'), `${s.name} prints ${v}`);
    }
  }
});

test('the network rows: x86_64 numbers, argument shapes, and KubeArmor\'s Data (`fd=N` after the call)', () => {
  const want: Record<string, [number, readonly ArgShape[]]> = {
    socket: [41, ['domain', 'type', 'protocol']],
    connect: [42, ['sockfd', 'sockaddr', 'addrlen']],
    accept: [43, ['sockfd', 'sockaddr', 'addrlenp']],
    accept4: [288, ['sockfd', 'sockaddr', 'addrlenp', 'flags']],
    bind: [49, ['sockfd', 'sockaddr', 'addrlen']],
    listen: [50, ['sockfd', 'backlog']],
  };
  assert.deepEqual([...NETWORK_SYSCALL_NAMES].sort(), Object.keys(want).sort());
  assert.equal(NETWORK_SYSCALLS, NETWORK_SYSCALL_NAMES, 'types.ts takes the list from the table');
  for (const [name, [nr, args]] of Object.entries(want)) {
    const s = info(name);
    assert.equal(s.operation, 'Network', name);
    assert.equal(s.nr, nr, name);
    assert.equal(syscallByNumber(nr)?.name, name);
    assert.deepEqual(s.args, args, name);
    assert.equal(s.flags, null, `${name}: no flags word spelled`);
    assert.deepEqual(s.data, name === 'socket' ? [] : [['fd', 'sockfd']], name);
  }
});
