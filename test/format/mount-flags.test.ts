// The Data field of the calls issue 14 added: mounts spell their MS_* / MOVE_MOUNT_* words, links
// their second name; the flag words parse back (armorwatch test --flags).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatData, formatMountFlags, parseMountFlags, parseMoveMountFlags } from '../../src/format/index.ts';

test('mount flags: names in order, unknown bits as hex, and back', () => {
  assert.equal(formatMountFlags(0x1000 | 0x4000), 'MS_BIND|MS_REC');
  assert.equal(formatMountFlags(0), '0');
  assert.equal(formatMountFlags(0x1000 | 0x10000000), 'MS_BIND|0x10000000');
  assert.equal(parseMountFlags('MS_BIND|ms_rec'), 0x5000);
  assert.equal(parseMoveMountFlags('MOVE_MOUNT_F_EMPTY_PATH'), 4);
  assert.throws(() => parseMountFlags('O_RDONLY'), /unknown MS_\* flag "O_RDONLY"/);
});

test('Data of mount, move_mount, open_tree, mount_setattr, pivot_root, linkat, symlinkat, open_by_handle_at and io_uring opens', () => {
  const base = { dirfd: -100, flags: 0, mode: 0, args: {}, path2: null, absPath2: null };
  assert.equal(formatData({ ...base, syscall: 'mount', flags: 0x1000, absPath2: '/mnt/x' }), 'syscall=SYS_MOUNT target=/mnt/x flags=MS_BIND');
  assert.equal(formatData({ ...base, syscall: 'move_mount', dirfd: 3, flags: 4, args: { newdirfd: -100 }, absPath2: '/m' }),
    'syscall=SYS_MOVE_MOUNT fd=3 newfd=-100 target=/m flags=MOVE_MOUNT_F_EMPTY_PATH');
  assert.equal(formatData({ ...base, syscall: 'linkat', args: { newdirfd: -100 }, absPath2: '/tmp/l' }), 'syscall=SYS_LINKAT fd=-100 newfd=-100 newpath=/tmp/l flags=0');
  assert.equal(formatData({ ...base, syscall: 'symlinkat', args: { newdirfd: 5 }, absPath2: '/tmp/s' }), 'syscall=SYS_SYMLINKAT newfd=5 newpath=/tmp/s');
  assert.equal(formatData({ ...base, syscall: 'open_by_handle_at', flags: 0o2000000 }), 'syscall=SYS_OPEN_BY_HANDLE_AT flags=O_RDONLY|O_CLOEXEC');
  assert.equal(formatData({ ...base, syscall: 'io_uring_enter' }), 'syscall=SYS_IO_URING_ENTER fd=-100 flags=O_RDONLY');
  assert.equal(formatData({ ...base, syscall: 'open_tree', flags: 0x1 | 0x8000 | 0o2000000 }), 'syscall=SYS_OPEN_TREE fd=-100 flags=OPEN_TREE_CLONE|AT_RECURSIVE|OPEN_TREE_CLOEXEC');
  assert.equal(formatData({ ...base, syscall: 'mount_setattr', dirfd: 4, flags: 0x1000 }), 'syscall=SYS_MOUNT_SETATTR fd=4 flags=AT_EMPTY_PATH');
  assert.equal(formatData({ ...base, syscall: 'pivot_root', absPath2: '/new/old' }), 'syscall=SYS_PIVOT_ROOT putold=/new/old');
});
