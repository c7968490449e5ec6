// KernelFilterSpec / ProcessFilterSpec → the helper's command lines. The kernel keeps 64-bit
// FNV-1a hashes of paths (a collision only lets an extra event through, which user space drops).
import { SYSCALLS } from '../syscalls.ts';
import type { ExecFilterSpec, KernelFilterSpec, NetworkFilterSpec, ProcessFilterSpec, WatchedIdentity } from '../types.ts';
import { MonitorError } from './errors.ts';
import { NET_CALL_BITS } from './layout.ts';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** FNV-1a 64 over the UTF-8 bytes of s, as bpf/armorwatch.bpf.c computes it. */
export function fnv1a64(s: string): bigint {
  let h = FNV_OFFSET;
  for (const b of Buffer.from(s, 'utf8')) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK64;
  return h;
}

// The kernel also tries /proc/<pid>/..., /proc/self/... and /proc/thread-self/... as /proc/...;
// an entry spelled with one of those prefixes is added in its /proc/... form too.
const PROC_ALIAS = /^\/proc\/(?:self|thread-self|\d+)(\/.*)$/;

function withProcForm(paths: readonly string[]): string[] {
  return [...procForms(paths).keys()];
}

/** Each entry, and its /proc/... form, with the entry it comes from. */
function procForms(paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of paths) {
    out.set(p, p);
    const m = PROC_ALIAS.exec(p);
    if (m !== null && !out.has(`/proc${m[1]}`)) out.set(`/proc${m[1]}`, p);
  }
  return out;
}

/**
 * The first component of an absolute path as bpf/armorwatch_filter.h keys it: its first 8 UTF-8
 * bytes, byte i at bits 8i. null for an empty first component ("/" itself), which cannot screen.
 */
export function firstComponentKey(path: string): bigint | null {
  const end = path.indexOf('/', 1);
  const bytes = Buffer.from(end === -1 ? path.slice(1) : path.slice(1, end), 'utf8').subarray(0, 8);
  if (bytes.length === 0) return null;
  let k = 0n;
  bytes.forEach((b, i) => { k |= BigInt(b) << BigInt(8 * i); });
  return k;
}

/** The kernel's first-component screen: keys of every entry, or '*' (screen nothing) when an entry is "/". */
function firstComponentList(paths: readonly string[]): string {
  const keys = new Set<string>();
  for (const p of paths) {
    const k = firstComponentKey(p);
    if (k === null) return '*';
    keys.add(k.toString(16));
  }
  return keys.size === 0 ? '-' : [...keys].join(',');
}

function hexList(values: readonly string[]): string {
  return values.length === 0 ? '-' : values.map((v) => fnv1a64(v).toString(16)).join(',');
}

/**
 * The entries a path filter puts in each kernel map (exact_paths, dir_prefixes): /proc/<pid>/...
 * spellings are inserted in their /proc/... form too, so they count twice. 0 when all passes.
 */
export function kernelFilterEntries(spec: KernelFilterSpec): { readonly exactPaths: number; readonly dirPrefixes: number } {
  if (spec.passAll) return { exactPaths: 0, dirPrefixes: 0 };
  return { exactPaths: withProcForm(spec.exactPaths).length, dirPrefixes: withProcForm(spec.dirPrefixes).length };
}

/** Entries each kernel filter map holds when nothing else is asked (--kernel-filter-capacity). */
export const KERNEL_FILTER_CAPACITY_DEFAULT = 65536;

/** The entries an execution filter puts in each of its kernel maps (exec_exact, exec_prefix, exec_names). */
export function execFilterEntries(spec: ExecFilterSpec | undefined): { readonly paths: number; readonly dirs: number; readonly names: number } {
  if (spec === undefined || spec.passAll) return { paths: 0, dirs: 0, names: 0 };
  return { paths: spec.paths.length, dirs: spec.dirs.length, names: spec.names.length };
}

/** The x86_64 numbers of file calls, checked against the one syscall table. */
function callNumbers(calls: readonly string[]): string[] {
  return calls.map((c) => {
    const info = Object.hasOwn(SYSCALLS, c) ? SYSCALLS[c as keyof typeof SYSCALLS] : undefined;
    if (info === undefined || info.operation !== 'File') throw new MonitorError('AW_MONITOR_FILTER', `kernel filter call "${c}" is not a file call armorwatch observes`);
    return String(info.nr);
  });
}

function callList(calls: readonly string[] | undefined): string {
  return calls === undefined || calls.length === 0 ? '-' : callNumbers(calls).join(',');
}

/** Path entries as hashes, each followed by "=<nr>.<nr>..." when it lets only some calls through. */
function entryList(paths: readonly string[], pathCalls: KernelFilterSpec['pathCalls']): string {
  const forms = procForms(paths);
  if (forms.size === 0) return '-';
  return [...forms].map(([p, from]) => {
    const calls = pathCalls !== undefined && Object.hasOwn(pathCalls, from) ? pathCalls[from]! : undefined;
    if (calls !== undefined && calls.length === 0) throw new MonitorError('AW_MONITOR_FILTER', `kernel filter entry "${from}" lets no call through`);
    return `${fnv1a64(p).toString(16)}${calls === undefined ? '' : `=${callNumbers(calls).join('.')}`}`;
  }).join(',');
}

/**
 * `paths <passAll> <exact hashes> <prefix hashes> <first-component keys> <call numbers>`. The helper
 * refuses a side holding more than its capacity (the one check of the kernel maps' size; the policy
 * stage checks the same limit beforehand and names the policies).
 */
export function pathFilterCommand(spec: KernelFilterSpec): string {
  for (const p of spec.exactPaths) {
    if (!p.startsWith('/')) throw new MonitorError('AW_MONITOR_FILTER', `kernel filter exact path "${p}" is not absolute`);
  }
  for (const p of spec.dirPrefixes) {
    if (!p.startsWith('/') || !p.endsWith('/')) {
      throw new MonitorError('AW_MONITOR_FILTER', `kernel filter directory prefix "${p}" must start and end with "/"`);
    }
  }
  for (const p of Object.keys(spec.pathCalls ?? {})) {
    if (!spec.exactPaths.includes(p) && !spec.dirPrefixes.includes(p)) throw new MonitorError('AW_MONITOR_FILTER', `kernel filter calls given for "${p}", which is not one of its paths`);
  }
  const exact = withProcForm(spec.exactPaths);
  const prefixes = withProcForm(spec.dirPrefixes);
  return `paths ${spec.passAll ? 1 : 0} ${entryList(spec.exactPaths, spec.pathCalls)} ${entryList(spec.dirPrefixes, spec.pathCalls)} ${firstComponentList([...exact, ...prefixes])} ${callList(spec.passCalls)}`;
}

/** No execution passes: the filter of a spec without process rules. */
export const NO_EXECS: ExecFilterSpec = Object.freeze({ passAll: false, paths: [], dirs: [], names: [] });

/** True when the filter lets any execution through. */
export function wantsExecs(spec: ExecFilterSpec | undefined): boolean {
  return spec !== undefined && (spec.passAll || spec.paths.length > 0 || spec.dirs.length > 0 || spec.names.length > 0);
}

/** `execs <passAll> <exact hashes> <prefix hashes> <name hashes>` */
export function execFilterCommand(spec: ExecFilterSpec = NO_EXECS): string {
  for (const p of spec.paths) {
    if (!p.startsWith('/')) throw new MonitorError('AW_MONITOR_FILTER', `kernel filter executed-file path "${p}" is not absolute`);
  }
  for (const d of spec.dirs) {
    if (!d.startsWith('/') || !d.endsWith('/')) {
      throw new MonitorError('AW_MONITOR_FILTER', `kernel filter executable directory "${d}" must start and end with "/"`);
    }
  }
  for (const n of spec.names) {
    if (n === '' || n.includes('/')) throw new MonitorError('AW_MONITOR_FILTER', `kernel filter executable name "${n}" must be a base name (no "/")`);
  }
  return `execs ${spec.passAll ? 1 : 0} ${hexList(spec.paths)} ${hexList(spec.dirs)} ${hexList(spec.names)}`;
}

/** No network call passes: the filter of a spec without network needs. */
export const NO_NETWORK: NetworkFilterSpec = Object.freeze({ passAll: false, calls: [], protocols: [] });

/** True when the filter lets any network call through. */
export function wantsNetwork(spec: NetworkFilterSpec | undefined): boolean {
  return spec !== undefined && (spec.passAll || spec.calls.length > 0);
}

/** `net <passAll> <call bits> <protocols|*> [gate <1 TCP|2 UDP> <window ms> <quiet ms> <ports> <hosts> <host netns>]` */
export function networkFilterCommand(spec: NetworkFilterSpec = NO_NETWORK): string {
  let bits = 0;
  for (const c of spec.calls) {
    const bit = (NET_CALL_BITS as Readonly<Record<string, number>>)[c];
    if (bit === undefined) throw new MonitorError('AW_MONITOR_FILTER', `kernel filter network call "${c}" is not one the monitor observes (${Object.keys(NET_CALL_BITS).join(', ')})`);
    bits |= bit;
  }
  for (const p of spec.protocols) {
    if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new MonitorError('AW_MONITOR_FILTER', `kernel filter protocol ${p} is not an IPPROTO_* number`);
  }
  const protocols = spec.protocols.length === 0 ? '*' : [...new Set(spec.protocols)].join(',');
  const g = spec.scanGate;
  const head = `net ${spec.passAll ? 1 : 0} ${bits} ${protocols}`;
  if (g === undefined || (!g.tcp && !g.udp)) return head;
  const u32 = (v: number, what: string, min: number): number => {
    if (!Number.isInteger(v) || v < min || v > 0xffffffff) throw new MonitorError('AW_MONITOR_FILTER', `kernel filter scan gate ${what} ${v} is not a whole number from ${min} to 4294967295`);
    return v;
  };
  return `${head} gate ${(g.tcp ? 1 : 0) | (g.udp ? 2 : 0)} ${u32(g.windowMs, 'window (ms)', 1)} ${u32(g.quietMs, 'quiet time (ms)', 1)} ` +
    `${u32(g.ports, 'ports', 1)} ${u32(g.hosts, 'hosts', 1)} ${u32(g.hostNetNs, 'host network namespace', 0)}`;
}

function pidList(pids: readonly number[], what: string): string {
  for (const p of pids) {
    if (!Number.isInteger(p) || p <= 0 || p > 0xffffffff) throw new MonitorError('AW_MONITOR_FILTER', `${what} ${p} is not a process id`);
  }
  return pids.length === 0 ? '-' : pids.join(',');
}

/** The kernel compares comm (15 bytes and a NUL): longer names are cut as the kernel cuts them. */
export function commKey(comm: string): Buffer {
  return Buffer.from(comm, 'utf8').subarray(0, 15);
}

/** `procs <pids> <comms as hex> <excluded pids>` */
export function processFilterCommand(spec: ProcessFilterSpec): string {
  for (const c of spec.comms) {
    if (c === '') throw new MonitorError('AW_MONITOR_FILTER', 'process filter comm is empty');
  }
  const comms = spec.comms.length === 0 ? '-' : spec.comms.map((c) => commKey(c).toString('hex')).join(',');
  return `procs ${pidList(spec.pids, 'process filter pid')} ${comms} ${pidList(spec.excludePids, 'excluded pid')}`;
}

/** `idents <dev hex>:<inode hex>,...` (or `-`): the identities the kernel checks opened files and their directories against. */
export function identsCommand(ids: readonly WatchedIdentity[], capacity = KERNEL_FILTER_CAPACITY_DEFAULT): string {
  const keys = new Set<string>();
  const byScope = new Map<string, number>();
  for (const id of ids) {
    if (!Number.isInteger(id.dev) || id.dev < 0 || id.dev > 0xffffffff || id.ino < 0n) {
      throw new MonitorError('AW_MONITOR_FILTER', `watched identity of ${id.path} (device ${id.dev}, inode ${id.ino}) is not a device and inode number`);
    }
    keys.add(`${id.dev.toString(16)}:${id.ino.toString(16)}`);
    const scope = id.containerId === undefined ? 'the host' : `container ${id.containerId.slice(0, 12)}`;
    byScope.set(scope, (byScope.get(scope) ?? 0) + 1);
  }
  if (keys.size > capacity) {
    // Refused as a whole (the set in force stays), naming who needs most: `validate` counts the
    // host's and one container's; more containers selected by the same policies need more.
    const most = [...byScope].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([scope, n]) => `${scope} (${n})`).join(', ');
    throw new MonitorError('AW_MONITOR_FILTER', `the kernel filter needs ${keys.size} watched identities, more than its capacity of ${capacity} (--kernel-filter-capacity); most come from: ${most}${byScope.size > 5 ? `, and ${byScope.size - 5} more` : ''}`);
  }
  return `idents ${keys.size === 0 ? '-' : [...keys].join(',')}`;
}
