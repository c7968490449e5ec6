import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errnoFromName, formatData, formatResult, strerror, syscallName } from '../../src/format/index.ts';
import type { FileSyscall } from '../../src/types.ts';

function ev(syscall: FileSyscall, over: { dirfd?: number; flags?: number; mode?: number; args?: Record<string, number>; absPath2?: string | null } = {}) {
  return { syscall, dirfd: over.dirfd ?? -100, flags: over.flags ?? 0, mode: over.mode ?? 0, args: over.args ?? {}, path2: null, absPath2: over.absPath2 ?? null };
}

test('Data per system call', () => {
  const table: Array<[ReturnType<typeof ev>, string]> = [
    [ev('openat', { flags: 0x98800 }), 'syscall=SYS_OPENAT fd=-100 flags=O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC'],
    [ev('openat', { dirfd: 3, flags: 0o1101 }), 'syscall=SYS_OPENAT fd=3 flags=O_WRONLY|O_CREAT|O_TRUNC'],
    [ev('open', { flags: 0 }), 'syscall=SYS_OPEN flags=O_RDONLY'],
    [ev('openat2', { flags: 0o2000000, args: { resolve: 4 } }), 'syscall=SYS_OPENAT2 fd=-100 flags=O_RDONLY|O_CLOEXEC resolve=RESOLVE_NO_SYMLINKS'],
    [ev('creat', { mode: 0o644 }), 'syscall=SYS_CREAT mode=0644'],
    [ev('unlink'), 'syscall=SYS_UNLINK'],
    [ev('rmdir'), 'syscall=SYS_RMDIR'],
    [ev('unlinkat', { flags: 0x200 }), 'syscall=SYS_UNLINKAT fd=-100 flags=AT_REMOVEDIR'],
    [ev('unlinkat'), 'syscall=SYS_UNLINKAT fd=-100 flags=0'],
    [ev('rename', { absPath2: '/tmp/b' }), 'syscall=SYS_RENAME newpath=/tmp/b'],
    [ev('renameat', { dirfd: 5, args: { newdirfd: -100 }, absPath2: '/tmp/b' }), 'syscall=SYS_RENAMEAT fd=5 newfd=-100 newpath=/tmp/b'],
    [ev('renameat2', { flags: 1, args: { newdirfd: -100 }, absPath2: '/b' }), 'syscall=SYS_RENAMEAT2 fd=-100 newfd=-100 newpath=/b flags=RENAME_NOREPLACE'],
    [ev('truncate', { args: { length: 0 } }), 'syscall=SYS_TRUNCATE length=0'],
    [ev('chmod', { mode: 0o4755 }), 'syscall=SYS_CHMOD mode=04755'],
    [ev('fchmodat', { mode: 0o600 }), 'syscall=SYS_FCHMODAT fd=-100 mode=0600 flags=0'],
    [ev('chown', { args: { uid: 1000, gid: 100 } }), 'syscall=SYS_CHOWN userid=1000 group=100'],
    [ev('fchownat', { args: { uid: 0, gid: 0 } }), 'syscall=SYS_FCHOWNAT userid=0 group=0 mode=0'],
    [ev('fchownat', { flags: 0x100, args: { uid: 0, gid: 0 } }), 'syscall=SYS_FCHOWNAT userid=0 group=0 mode=AT_SYMLINK_NOFOLLOW'],
  ];
  for (const [input, text] of table) assert.equal(formatData(input), text);
  // Network calls print the socket fd (KubeArmor's shape); socket() prints nothing after the call.
  assert.equal(formatData({ syscall: 'connect', fd: 3 }), 'syscall=SYS_CONNECT fd=3');
  assert.equal(formatData({ syscall: 'accept4', fd: 5 }), 'syscall=SYS_ACCEPT4 fd=5');
  assert.equal(formatData({ syscall: 'socket', fd: 4 }), 'syscall=SYS_SOCKET');
  assert.equal(syscallName('fchownat'), 'SYS_FCHOWNAT');
});

test('Result texts are glibc strerror', () => {
  assert.equal(formatResult(0), 'Passed');
  assert.equal(formatResult(7), 'Passed');
  const table: Array<[number, string]> = [
    [-2, 'No such file or directory'], [-13, 'Permission denied'], [-1, 'Operation not permitted'],
    [-17, 'File exists'], [-20, 'Not a directory'], [-21, 'Is a directory'], [-30, 'Read-only file system'],
    [-36, 'File name too long'], [-39, 'Directory not empty'], [-40, 'Too many levels of symbolic links'],
    [-18, 'Invalid cross-device link'], [-95, 'Operation not supported'], [-122, 'Disk quota exceeded'],
    [-41, 'Unknown error 41'], [-4095, 'Unknown error 4095'],
  ];
  for (const [ret, text] of table) assert.equal(formatResult(ret), text);
  assert.equal(strerror(11), 'Resource temporarily unavailable');
});

test('errno names map to numbers', () => {
  assert.equal(errnoFromName('ENOENT'), 2);
  assert.equal(errnoFromName('eacces'), 13);
  assert.equal(errnoFromName('EPERM'), 1);
  assert.equal(errnoFromName('ELOOP'), 40);
  assert.equal(errnoFromName('ENOPE'), undefined);
  assert.equal(formatResult(-(errnoFromName('ENOTDIR') ?? 0)), 'Not a directory');
});
