import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FlagParseError, formatAtFlags, formatOpenFlags, formatRenameFlags, formatResolveFlags, openFlagsWrite,
  parseAtFlags, parseOpenFlags, parseRenameFlags,
} from '../../src/format/index.ts';

test('open flags print in KubeArmor order', () => {
  const table: Array<[number, string]> = [
    [0x98800, 'O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC'], // the seed's `ls` of a directory
    [0x90800, 'O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC'],
    [0, 'O_RDONLY'],
    [0o1, 'O_WRONLY'],
    [0o2, 'O_RDWR'],
    [0o1101, 'O_WRONLY|O_CREAT|O_TRUNC'],
    [0o2101, 'O_WRONLY|O_CREAT|O_APPEND'],
    [0o302, 'O_RDWR|O_CREAT|O_EXCL'],
    [0o400, 'O_RDONLY|O_NOCTTY'],
    [0o10000, 'O_RDONLY|O_DSYNC'],
    [0o4010000, 'O_RDONLY|O_SYNC'],
    [0o20000, 'O_RDONLY|O_ASYNC'],
    [0o40000, 'O_RDONLY|O_DIRECT'],
    [0o400000, 'O_RDONLY|O_NOFOLLOW'],
    [0o1000000, 'O_RDONLY|O_NOATIME'],
    [0o2000000, 'O_RDONLY|O_CLOEXEC'],
    [0o10000000 | 0o2000000, 'O_RDONLY|O_CLOEXEC|O_PATH'],
    [0o20200002, 'O_RDWR|O_TMPFILE'],
    [0o2400000 | 0o40000 | 0o20000 | 0o4000, 'O_RDONLY|O_NONBLOCK|O_ASYNC|O_NOFOLLOW|O_CLOEXEC|O_DIRECT'],
    [0x40000000, 'O_RDONLY|0x40000000'],
  ];
  for (const [flags, text] of table) assert.equal(formatOpenFlags(flags), text, `0x${flags.toString(16)}`);
});

test('AT_, RENAME_ and RESOLVE_ flags', () => {
  assert.equal(formatAtFlags(0), '0');
  assert.equal(formatAtFlags(0x200), 'AT_REMOVEDIR');
  assert.equal(formatAtFlags(0x100), 'AT_SYMLINK_NOFOLLOW');
  assert.equal(formatAtFlags(0x1100), 'AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH');
  assert.equal(formatAtFlags(0x400 | 0x800), 'AT_SYMLINK_FOLLOW|AT_NO_AUTOMOUNT');
  assert.equal(formatRenameFlags(0), '0');
  assert.equal(formatRenameFlags(1), 'RENAME_NOREPLACE');
  assert.equal(formatRenameFlags(6), 'RENAME_EXCHANGE|RENAME_WHITEOUT');
  assert.equal(formatResolveFlags(0x0c), 'RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH');
});

test('parsing flag words', () => {
  assert.equal(parseOpenFlags('O_RDONLY|O_CLOEXEC'), 0o2000000);
  assert.equal(parseOpenFlags('O_WRONLY|O_CREAT|O_TRUNC'), 0o1101);
  assert.equal(parseOpenFlags('o_rdwr | o_append'), 0o2002);
  assert.equal(parseOpenFlags('FASYNC'), 0o20000);
  assert.equal(parseOpenFlags('O_SYNC'), 0o4010000);
  assert.equal(parseOpenFlags('O_TMPFILE|O_RDWR'), 0o20200002);
  assert.equal(parseOpenFlags('0x98800'), 0x98800);
  assert.equal(parseOpenFlags('0101'), 0o101);
  assert.equal(parseOpenFlags(''), 0);
  assert.equal(parseAtFlags('AT_REMOVEDIR'), 0x200);
  assert.equal(parseRenameFlags('RENAME_NOREPLACE|RENAME_WHITEOUT'), 5);
  assert.throws(() => parseOpenFlags('O_RDONLY|O_BOGUS'), (e: unknown) => e instanceof FlagParseError && e.token === 'O_BOGUS');
  assert.throws(() => parseAtFlags('O_CREAT'), FlagParseError);
});

test('every printed open flag word parses back to the same bits (without O_LARGEFILE)', () => {
  for (let bit = 2; bit < 23; bit++) {
    const flags = (1 << bit) | 1;
    if ((1 << bit) === 0o100000) continue;
    assert.equal(parseOpenFlags(formatOpenFlags(flags)), flags, formatOpenFlags(flags));
  }
});

test('which open flags can change a file', () => {
  assert.equal(openFlagsWrite(0x98800), false);
  assert.equal(openFlagsWrite(0o1), true);
  assert.equal(openFlagsWrite(0o2), true);
  assert.equal(openFlagsWrite(0o100), true); // O_CREAT with O_RDONLY still creates
  assert.equal(openFlagsWrite(0o1000), true);
  assert.equal(openFlagsWrite(0o2000), true);
  assert.equal(openFlagsWrite(0o2000000), false);
});
