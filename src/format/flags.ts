// Flag words of the file system calls (x86_64 values) ↔ the names KubeArmor prints.

/** One named bit pattern. `bits` may span several bits (O_SYNC, O_TMPFILE include another flag). */
interface FlagName {
  readonly name: string;
  readonly bits: number;
  /** Bits this name makes redundant when it is printed (its component flag). */
  readonly absorbs?: number;
}

export const O_ACCMODE = 0o3;
export const O_LARGEFILE = 0o100000;

/**
 * Open flags after the access mode, in the order KubeArmor prints them. O_SYNC and O_TMPFILE are
 * composites (O_SYNC = __O_SYNC|O_DSYNC, O_TMPFILE = __O_TMPFILE|O_DIRECTORY): printing one absorbs its
 * component, so a formatted word parses back to the same number.
 */
const OPEN_FLAGS: readonly FlagName[] = [
  { name: 'O_CREAT', bits: 0o100 },
  { name: 'O_EXCL', bits: 0o200 },
  { name: 'O_NOCTTY', bits: 0o400 },
  { name: 'O_TRUNC', bits: 0o1000 },
  { name: 'O_APPEND', bits: 0o2000 },
  { name: 'O_NONBLOCK', bits: 0o4000 },
  { name: 'O_SYNC', bits: 0o4010000, absorbs: 0o10000 },
  { name: 'O_DSYNC', bits: 0o10000 },
  { name: 'O_ASYNC', bits: 0o20000 },
  { name: 'O_DIRECTORY', bits: 0o200000 },
  { name: 'O_NOFOLLOW', bits: 0o400000 },
  { name: 'O_CLOEXEC', bits: 0o2000000 },
  { name: 'O_DIRECT', bits: 0o40000 },
  { name: 'O_NOATIME', bits: 0o1000000 },
  { name: 'O_PATH', bits: 0o10000000 },
  { name: 'O_TMPFILE', bits: 0o20200000, absorbs: 0o200000 },
];

/** Names accepted when parsing open flags, beyond those printed. */
const OPEN_ALIASES: Readonly<Record<string, number>> = {
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, FASYNC: 0o20000, O_NDELAY: 0o4000, O_FSYNC: 0o4010000,
  O_RSYNC: 0o4010000, O_LARGEFILE,
};

export const AT_FDCWD = -100;

const AT_FLAGS: readonly FlagName[] = [
  { name: 'AT_SYMLINK_NOFOLLOW', bits: 0x100 },
  { name: 'AT_REMOVEDIR', bits: 0x200 },
  { name: 'AT_SYMLINK_FOLLOW', bits: 0x400 },
  { name: 'AT_NO_AUTOMOUNT', bits: 0x800 },
  { name: 'AT_EMPTY_PATH', bits: 0x1000 },
];

const RENAME_FLAGS: readonly FlagName[] = [
  { name: 'RENAME_NOREPLACE', bits: 1 },
  { name: 'RENAME_EXCHANGE', bits: 2 },
  { name: 'RENAME_WHITEOUT', bits: 4 },
];

const RESOLVE_FLAGS: readonly FlagName[] = [
  { name: 'RESOLVE_NO_XDEV', bits: 0x01 },
  { name: 'RESOLVE_NO_MAGICLINKS', bits: 0x02 },
  { name: 'RESOLVE_NO_SYMLINKS', bits: 0x04 },
  { name: 'RESOLVE_BENEATH', bits: 0x08 },
  { name: 'RESOLVE_IN_ROOT', bits: 0x10 },
  { name: 'RESOLVE_CACHED', bits: 0x20 },
];

// mount(2) MS_* flags (the ones that say what a mount does; others print as a number).
const MOUNT_FLAGS: readonly FlagName[] = [
  { name: 'MS_RDONLY', bits: 0x1 },
  { name: 'MS_NOSUID', bits: 0x2 },
  { name: 'MS_NODEV', bits: 0x4 },
  { name: 'MS_NOEXEC', bits: 0x8 },
  { name: 'MS_REMOUNT', bits: 0x20 },
  { name: 'MS_BIND', bits: 0x1000 },
  { name: 'MS_MOVE', bits: 0x2000 },
  { name: 'MS_REC', bits: 0x4000 },
  { name: 'MS_PRIVATE', bits: 0x40000 },
  { name: 'MS_SLAVE', bits: 0x80000 },
  { name: 'MS_SHARED', bits: 0x100000 },
];

/** MS_BIND | MS_MOVE: the mount's source is a path (its own files under a new name). */
export const MS_SOURCE_IS_PATH = 0x1000 | 0x2000;

const MOVE_MOUNT_FLAGS: readonly FlagName[] = [
  { name: 'MOVE_MOUNT_F_SYMLINKS', bits: 0x1 },
  { name: 'MOVE_MOUNT_F_AUTOMOUNTS', bits: 0x2 },
  { name: 'MOVE_MOUNT_F_EMPTY_PATH', bits: 0x4 },
  { name: 'MOVE_MOUNT_T_SYMLINKS', bits: 0x10 },
  { name: 'MOVE_MOUNT_T_AUTOMOUNTS', bits: 0x20 },
  { name: 'MOVE_MOUNT_T_EMPTY_PATH', bits: 0x40 },
];

/** open_tree(2) and mount_setattr(2): the AT_* flags they take, AT_RECURSIVE, and open_tree's own. */
const TREE_FLAGS: readonly FlagName[] = [
  { name: 'OPEN_TREE_CLONE', bits: 0x1 },
  ...AT_FLAGS.filter((f) => f.name !== 'AT_REMOVEDIR' && f.name !== 'AT_SYMLINK_FOLLOW'),
  { name: 'AT_RECURSIVE', bits: 0x8000 },
  { name: 'OPEN_TREE_CLOEXEC', bits: 0o2000000 },
];

function joinNames(value: number, table: readonly FlagName[], first: string[]): string[] {
  const v = value >>> 0;
  // A composite that is fully present hides its component, whatever the printing order.
  let absorbed = 0;
  for (const f of table) if (f.absorbs !== undefined && (v & f.bits) === f.bits) absorbed |= f.absorbs;
  let printed = 0;
  const out = first;
  for (const f of table) {
    if (f.bits === 0 || (v & f.bits) !== f.bits) continue;
    if (f.absorbs === undefined && (f.bits & absorbed) === f.bits) continue;
    out.push(f.name);
    printed |= f.bits;
  }
  const rest = (v & ~printed) >>> 0;
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out;
}

/**
 * `O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC` for 0x98800. O_LARGEFILE is never printed: on x86_64
 * the kernel adds it to every open and glibc defines it as 0, so it carries no information.
 */
export function formatOpenFlags(flags: number): string {
  const mode = flags & O_ACCMODE;
  const head = mode === 1 ? 'O_WRONLY' : mode === 2 ? 'O_RDWR' : mode === 3 ? 'O_ACCMODE' : 'O_RDONLY';
  const rest = (flags & ~O_ACCMODE & ~O_LARGEFILE) >>> 0;
  return joinNames(rest, OPEN_FLAGS, [head]).join('|');
}

/** AT_* flags joined by `|`, or `0` when none. */
export function formatAtFlags(flags: number): string {
  const names = joinNames(flags, AT_FLAGS, []);
  return names.length === 0 ? '0' : names.join('|');
}

/** RENAME_* flags joined by `|`, or `0` when none. */
export function formatRenameFlags(flags: number): string {
  const names = joinNames(flags, RENAME_FLAGS, []);
  return names.length === 0 ? '0' : names.join('|');
}

/** MS_* flags of mount(2) joined by `|`, or `0` when none. */
export function formatMountFlags(flags: number): string {
  const names = joinNames(flags, MOUNT_FLAGS, []);
  return names.length === 0 ? '0' : names.join('|');
}

/** MOVE_MOUNT_* flags joined by `|`, or `0` when none. */
export function formatMoveMountFlags(flags: number): string {
  const names = joinNames(flags, MOVE_MOUNT_FLAGS, []);
  return names.length === 0 ? '0' : names.join('|');
}

/** Flags of open_tree(2) and mount_setattr(2) joined by `|`, or `0` when none. */
export function formatTreeFlags(flags: number): string {
  const names = joinNames(flags, TREE_FLAGS, []);
  return names.length === 0 ? '0' : names.join('|');
}

/** RESOLVE_* flags of openat2 joined by `|`, or `0` when none. */
export function formatResolveFlags(flags: number): string {
  const names = joinNames(flags, RESOLVE_FLAGS, []);
  return names.length === 0 ? '0' : names.join('|');
}

const OPEN_BY_NAME: ReadonlyMap<string, number> = new Map([
  ...OPEN_FLAGS.map((f) => [f.name, f.bits] as const),
  ...Object.entries(OPEN_ALIASES),
]);
const AT_BY_NAME: ReadonlyMap<string, number> = new Map(AT_FLAGS.map((f) => [f.name, f.bits] as const));
const RENAME_BY_NAME: ReadonlyMap<string, number> = new Map(RENAME_FLAGS.map((f) => [f.name, f.bits] as const));
const MOUNT_BY_NAME: ReadonlyMap<string, number> = new Map(MOUNT_FLAGS.map((f) => [f.name, f.bits] as const));
const MOVE_MOUNT_BY_NAME: ReadonlyMap<string, number> = new Map(MOVE_MOUNT_FLAGS.map((f) => [f.name, f.bits] as const));

/** Thrown by the parse functions; `token` is the part that was not understood. */
export class FlagParseError extends Error {
  readonly token: string;
  constructor(token: string, kind: string, known: readonly string[]) {
    super(`unknown ${kind} flag "${token}" (known: ${known.join(', ')}, or a number)`);
    this.name = 'FlagParseError';
    this.token = token;
  }
}

function parseWith(text: string, byName: ReadonlyMap<string, number>, kind: string): number {
  let value = 0;
  for (const raw of text.split('|')) {
    const token = raw.trim();
    if (token === '' || token === '0') continue;
    const known = byName.get(token.toUpperCase());
    if (known !== undefined) { value |= known; continue; }
    if (/^(0x[0-9a-f]+|0o?[0-7]+|[1-9][0-9]*)$/i.test(token)) {
      value |= token.startsWith('0') && !/^0x/i.test(token) ? Number.parseInt(token.replace(/^0o?/i, ''), 8) : Number(token);
      continue;
    }
    throw new FlagParseError(token, kind, [...byName.keys()]);
  }
  return value >>> 0;
}

/** `O_RDONLY|O_CLOEXEC` → 0x80000. Accepts names (any case), FASYNC/O_NDELAY aliases and numbers. */
export function parseOpenFlags(text: string): number {
  return parseWith(text, OPEN_BY_NAME, 'open');
}

export function parseAtFlags(text: string): number {
  return parseWith(text, AT_BY_NAME, 'AT_*');
}

export function parseRenameFlags(text: string): number {
  return parseWith(text, RENAME_BY_NAME, 'RENAME_*');
}

export function parseMountFlags(text: string): number {
  return parseWith(text, MOUNT_BY_NAME, 'MS_*');
}

export function parseMoveMountFlags(text: string): number {
  return parseWith(text, MOVE_MOUNT_BY_NAME, 'MOVE_MOUNT_*');
}

/** Open flags that can change a file: access mode write/read-write, O_CREAT, O_TRUNC, O_APPEND. */
export function openFlagsWrite(flags: number): boolean {
  return (flags & O_ACCMODE) !== 0 || (flags & (0o100 | 0o1000 | 0o2000)) !== 0;
}
