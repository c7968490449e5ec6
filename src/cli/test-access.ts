// `armorwatch test`: decide one file access, execution, network call or system call offline against
// policies and print the alert (or null).
import { isIP } from 'node:net';
import { basename, isAbsolute, posix } from 'node:path';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { errnoFromName, FlagParseError, parseAtFlags, parseMountFlags, parseMoveMountFlags, parseOpenFlags, parseRenameFlags } from '../format/index.ts';
import { renderAlert } from '../export/kubearmor.ts';
import { compilePolicies } from '../policy/engine.ts';
import { loadPolicies, PolicyPathError } from '../policy/load.ts';
import { formatProblem } from '../policy/types.ts';
import {
  AF_INET, AF_INET6, AF_PACKET, AF_UNIX, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM,
  familyName, protocolName, socketTypeName,
} from '../format/net.ts';
import { SYSCALLS } from '../syscalls.ts';
import {
  EXEC_SYSCALLS, FILE_SYSCALLS, NETWORK_SYSCALLS, type ExecEvent, type ExecSyscall, type FileEvent, type FileSyscall, type MonitorEvent,
  type NetworkEvent, type NetworkSyscall, type NodeIdentity, type SocketAddress, type Workload,
} from '../types.ts';

/** A protocol name → the socket a program opens for it (family, type, IPPROTO number). */
const PROTOCOLS: Readonly<Record<string, readonly [domain: number, type: number, protocol: number]>> = {
  tcp: [AF_INET, SOCK_STREAM, IPPROTO_TCP],
  udp: [AF_INET, SOCK_DGRAM, IPPROTO_UDP],
  icmp: [AF_INET, SOCK_RAW, IPPROTO_ICMP],
  icmpv6: [AF_INET6, SOCK_RAW, IPPROTO_ICMPV6],
  sctp: [AF_INET, SOCK_STREAM, IPPROTO_SCTP],
  raw: [AF_INET, SOCK_RAW, 255],
};
const DOMAINS: Readonly<Record<string, number>> = { inet: AF_INET, inet6: AF_INET6, unix: AF_UNIX, packet: AF_PACKET };
const TYPES: Readonly<Record<string, number>> = { stream: SOCK_STREAM, dgram: SOCK_DGRAM, raw: SOCK_RAW, seqpacket: SOCK_SEQPACKET };

const HELP = `Usage: armorwatch test --policies DIR --path PATH [options]
       armorwatch test --policies DIR --kind network [--syscall CALL] [--protocol P] [options]

Decides one event offline, as the agent would, and prints the alert as one JSON object in
KubeArmor's alert shape, or null when no alert is raised. The event is a file access (file
rules), an execution (process rules), a network call (network rules), or a file or network
system call judged by the syscall rules.

Policies:
  --policies DIR         policy directory or file (repeatable)
  --default-posture P    audit (default) or block: file posture where no namespace annotation says
  --default-network-posture P
                         audit (default) or block: network posture where no namespace annotation
                         says (allow-list mode of network rules)
The event:
  --kind K               file (default: a file access, file rules), process (an execution,
                         process rules), network (a network call, network rules) or syscall
                         (a file or network call, syscall rules)
  --path PATH            accessed path, or for --kind process the executed path (absolute, or
                         relative with --cwd)
  --cwd DIR              working directory of the process (default /)
  --resolved-path PATH   path the kernel opened, when it differs (symlinks)
  --new-path PATH        destination of rename, renameat, renameat2
  --syscall NAME         ${FILE_SYSCALLS.join(', ')} (default openat);
                         for --kind process: ${EXEC_SYSCALLS.join(', ')} (default execve);
                         for --kind network: ${NETWORK_SYSCALLS.join(', ')} (default socket);
                         for --kind syscall: any of the file or network calls (default openat)
  --flags FLAGS          e.g. O_RDONLY|O_CLOEXEC (open calls), AT_REMOVEDIR, RENAME_NOREPLACE
  --result R             Passed (default), an errno name (ENOENT, EACCES, ...) or number
  --exe PATH             executable of the process; for --kind process, of the process that
                         calls exec (the alert's Source)
  --parent-exe PATH      executable of its parent
  --args ARG             an argument after the program name (--kind process; repeat in order)
  --tty NAME             controlling terminal of the process (pts0); none when absent
Network calls (--kind network, or --kind syscall with a network call):
  --protocol P           the socket's protocol: ${Object.keys(PROTOCOLS).join(', ')} or an IPPROTO
                         number (default tcp); it picks the family and type below unless given
  --domain D             the socket's family: inet, inet6, unix, packet, AF_* or a number
  --type T               the socket's type: stream, dgram, raw, seqpacket, SOCK_* or a number
  --remote ADDR          connect: the address connected to; accept: the peer
                         (10.0.0.7:5432, [2001:db8::1]:443, /run/x.sock)
  --local ADDR           bind, listen, accept: the local address (0.0.0.0:8080)
  --fd N                 the socket's file descriptor (default 3)
  --uid N                user id of the process (default 0)
  --owner-uid N          user id of the file's owner (for ownerOnly rules)
Where it happens:
  --namespace NS         pod namespace (default "default")
  --labels k=v,k=v       pod labels
  --container NAME       container name
  --host                 a host process instead (host policies apply)
  --node-labels k=v,...  node labels (host policies' nodeSelector)
  --hostname H           node name (default: this machine's)
  -h, --help             show this help

Exit status: 0 decided (alert or null), 1 invalid policies (problems on stderr), 2 usage error.
`;

const OPTIONS = {
  policies: { type: 'string', multiple: true },
  path: { type: 'string' },
  cwd: { type: 'string' },
  'resolved-path': { type: 'string' },
  'new-path': { type: 'string' },
  exe: { type: 'string' },
  'parent-exe': { type: 'string' },
  namespace: { type: 'string' },
  labels: { type: 'string' },
  container: { type: 'string' },
  host: { type: 'boolean' },
  'node-labels': { type: 'string' },
  hostname: { type: 'string' },
  syscall: { type: 'string' },
  kind: { type: 'string' },
  args: { type: 'string', multiple: true },
  tty: { type: 'string' },
  flags: { type: 'string' },
  uid: { type: 'string' },
  'owner-uid': { type: 'string' },
  result: { type: 'string' },
  'default-posture': { type: 'string' },
  'default-network-posture': { type: 'string' },
  protocol: { type: 'string' },
  domain: { type: 'string' },
  type: { type: 'string' },
  remote: { type: 'string' },
  local: { type: 'string' },
  fd: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usage(msg: string): UsageError {
  return new UsageError(`test: ${msg}\nRun 'armorwatch test --help' for usage.`);
}

/** `k=v,k=v` → labels. */
export function parseLabels(text: string | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined || text.trim() === '') return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw usage(`${option}: "${part}" is not k=v`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function parseInteger(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(text.trim())) throw usage(`${option}: "${text}" is not an integer`);
  return Number(text);
}

function absolute(path: string, cwd: string, option: string): string {
  if (isAbsolute(path)) return posix.normalize(path);
  if (!isAbsolute(cwd)) throw usage(`--cwd must be absolute (got "${cwd}")`);
  if (path === '') throw usage(`${option} must not be empty`);
  return posix.normalize(posix.join(cwd, path));
}

function parseResult(text: string | undefined): number {
  if (text === undefined || text.toLowerCase() === 'passed') return 0;
  if (/^-?[0-9]+$/.test(text)) return -Math.abs(Number(text));
  const n = errnoFromName(text);
  if (n === undefined) throw usage(`--result: unknown errno name "${text}" (use Passed, ENOENT, EACCES, ... or a number)`);
  return -n;
}

function parseFlags(text: string | undefined, syscall: FileSyscall): number {
  if (text === undefined) return 0;
  try {
    switch (SYSCALLS[syscall].flags) {
      case 'at': return parseAtFlags(text);
      case 'rename': return parseRenameFlags(text);
      case 'mount': return parseMountFlags(text);
      case 'move_mount': return parseMoveMountFlags(text);
      default: return parseOpenFlags(text);
    }
  } catch (err) {
    if (err instanceof FlagParseError) throw usage(`--flags: ${err.message}`);
    throw err;
  }
}

/** A name of `table`, its C spelling (`AF_INET`, `SOCK_STREAM`, `TCP` as `spelled` writes them), or a number. */
function socketNumber(text: string, option: string, table: Readonly<Record<string, number>>, spelled: (n: number) => string): number {
  const t = text.trim();
  if (/^[0-9]+$/.test(t)) return Number(t);
  const lower = t.toLowerCase();
  if (Object.hasOwn(table, lower)) return table[lower]!;
  for (let n = 0; n < 1024; n++) if (spelled(n).toLowerCase() === lower) return n;
  throw usage(`${option}: unknown "${text}" (one of ${Object.keys(table).join(', ')}, a C name or a number)`);
}

/** `10.0.0.7:5432`, `[2001:db8::1]:443`, or a unix socket path. */
export function parseSocketAddress(text: string, option: string): SocketAddress {
  if (text.startsWith('/') || text.startsWith('@')) return { family: 'unix', path: text.replace(/^@/, ''), abstract: text.startsWith('@') };
  const m = /^\[([^\]]+)\]:([0-9]+)$/.exec(text) ?? /^([^:]+):([0-9]+)$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || isIP(m[1]!) === 0 || port > 65535) throw usage(`${option}: "${text}" is not ADDRESS:PORT ([v6]:PORT for IPv6) or a unix socket path`);
  const address = m[1]!;
  if (isIP(address) === 4) return { family: 'inet', address, port };
  const mapped = /^::ffff:([0-9.]+)$/i.exec(address);
  return { family: 'inet6', address, port, ...(mapped !== null && isIP(mapped[1]!) === 4 ? { mappedV4: mapped[1]! } : {}) };
}

const FAMILY_OF: Readonly<Record<SocketAddress['family'], number | undefined>> = { inet: AF_INET, inet6: AF_INET6, unix: AF_UNIX, other: undefined };

interface NetworkValues {
  readonly syscall?: string | undefined; readonly protocol?: string | undefined; readonly domain?: string | undefined; readonly type?: string | undefined;
  readonly remote?: string | undefined; readonly local?: string | undefined; readonly fd?: string | undefined;
}

/** The network call the flags describe, identity fields left to the caller. */
function networkCall(values: NetworkValues, ret: number): Pick<NetworkEvent, 'syscall' | 'phase' | 'fd' | 'ret' | 'domain' | 'type' | 'protocol' | 'remote' | 'local'> {
  const syscall = (values.syscall ?? 'socket') as NetworkSyscall;
  const protoName = (values.protocol ?? 'tcp').toLowerCase();
  const known = Object.hasOwn(PROTOCOLS, protoName) ? PROTOCOLS[protoName]! : undefined;
  const protocol = known?.[2] ?? socketNumber(values.protocol ?? '', '--protocol', {}, protocolName);
  const remote = values.remote === undefined ? null : parseSocketAddress(values.remote, '--remote');
  const local = values.local === undefined ? null : parseSocketAddress(values.local, '--local');
  if (remote !== null && syscall !== 'connect' && syscall !== 'accept' && syscall !== 'accept4') throw usage(`--remote is for connect, accept and accept4 (not ${syscall})`);
  if (local !== null && syscall !== 'bind' && syscall !== 'listen' && syscall !== 'accept' && syscall !== 'accept4') throw usage(`--local is for bind, listen, accept and accept4 (not ${syscall})`);
  // The family follows the addresses when not given (an IPv6 address, a unix path).
  const fromAddress = FAMILY_OF[(remote ?? local)?.family ?? 'other'];
  const domain = values.domain !== undefined ? socketNumber(values.domain, '--domain', DOMAINS, familyName) : fromAddress ?? known?.[0] ?? AF_INET;
  const type = values.type !== undefined ? socketNumber(values.type, '--type', TYPES, socketTypeName) : known?.[1] ?? SOCK_RAW;
  const fd = parseInteger(values.fd, '--fd') ?? 3;
  return {
    syscall, phase: 'call', fd: syscall === 'socket' ? -1 : fd, ret: syscall === 'socket' && ret === 0 ? fd : ret,
    domain, type, protocol: domain === AF_UNIX && values.protocol === undefined ? 0 : protocol, remote, local,
  };
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (err) {
    throw usage((err as Error).message);
  }
  if (values.help === true) { process.stdout.write(HELP); return 0; }
  if (values.policies === undefined || values.policies.length === 0) throw usage('--policies DIR is required');
  const kind = values.kind ?? 'file';
  if (kind !== 'file' && kind !== 'process' && kind !== 'network' && kind !== 'syscall') throw usage(`--kind must be file, process, network or syscall (got "${kind}")`);
  const calls: readonly string[] = kind === 'process' ? EXEC_SYSCALLS : kind === 'network' ? NETWORK_SYSCALLS
    : kind === 'syscall' ? [...FILE_SYSCALLS, ...NETWORK_SYSCALLS] : FILE_SYSCALLS;
  const syscall = values.syscall ?? (kind === 'process' ? 'execve' : kind === 'network' ? 'socket' : 'openat');
  if (!calls.includes(syscall)) throw usage(`--syscall: unknown "${syscall}" for --kind ${kind} (one of ${calls.join(', ')})`);
  // A network call: --kind network, or a network call judged by the syscall rules.
  const netCall = kind === 'network' || (kind === 'syscall' && (NETWORK_SYSCALLS as readonly string[]).includes(syscall));
  if (values.path === undefined && !netCall) throw usage('--path PATH is required');
  if (values.path !== undefined && netCall) throw usage(`--path is not for a network call (${syscall}; use --remote or --local)`);
  if (kind !== 'process' && values.args !== undefined) throw usage('--args is for --kind process');
  if (!netCall) {
    for (const o of ['protocol', 'domain', 'type', 'remote', 'local', 'fd'] as const) if (values[o] !== undefined) throw usage(`--${o} is for a network call (--kind network)`);
  }
  if (netCall) {
    for (const o of ['flags', 'resolved-path', 'new-path', 'owner-uid'] as const) if (values[o] !== undefined) throw usage(`--${o} is not for a network call`);
  }
  if (values.tty !== undefined && !/^[A-Za-z0-9/]+$/.test(values.tty)) throw usage(`--tty: "${values.tty}" is not a terminal name like pts0`);
  const posture = values['default-posture'] ?? 'audit';
  if (posture !== 'audit' && posture !== 'block') throw usage(`--default-posture must be audit or block (got "${posture}")`);
  const networkPosture = values['default-network-posture'] ?? 'audit';
  if (networkPosture !== 'audit' && networkPosture !== 'block') throw usage(`--default-network-posture must be audit or block (got "${networkPosture}")`);
  if (values.host === true && (values.namespace !== undefined || values.labels !== undefined || values.container !== undefined)) {
    throw usage('--host cannot be combined with --namespace, --labels or --container');
  }
  const cwd = values.cwd ?? '/';
  const path = values.path ?? '';
  const absPath = netCall ? '' : absolute(path, cwd, '--path');
  const ret = parseResult(values.result);
  const flags = kind === 'process' || netCall ? 0 : parseFlags(values.flags, syscall as FileSyscall);
  const network = netCall ? networkCall({ ...values, syscall }, ret) : null;
  const uid = parseInteger(values.uid, '--uid') ?? 0;
  const ownerUid = parseInteger(values['owner-uid'], '--owner-uid') ?? null;
  const newPath = values['new-path'] === undefined ? null : absolute(values['new-path'], cwd, '--new-path');
  const exe = values.exe ?? '';
  const host = values['hostname'] ?? hostname();
  const node: NodeIdentity = {
    clusterName: 'default',
    hostName: host,
    labels: { 'kubearmor.io/hostname': host, 'kubernetes.io/hostname': host, ...parseLabels(values['node-labels'], '--node-labels') },
  };
  const workload: Workload = values.host === true
    ? { kind: 'host', labels: {} }
    : {
      kind: 'container',
      namespace: values.namespace ?? 'default',
      labels: parseLabels(values.labels, '--labels'),
      ...(values.container !== undefined ? { containerName: values.container } : {}),
    };

  let loaded;
  try {
    loaded = await loadPolicies(values.policies);
  } catch (err) {
    if (err instanceof PolicyPathError) throw usage(err.message);
    throw err;
  }
  if (loaded.problems.length > 0) {
    process.stderr.write(`${loaded.problems.map(formatProblem).join('\n')}\n`);
    process.stderr.write(`armorwatch test: ${loaded.invalidDocuments} invalid policy document(s); fix them first\n`);
    return 1;
  }
  const timestampNs = BigInt(Date.now()) * 1_000_000n;
  const resolvedPath = ret < 0 ? null : (values['resolved-path'] !== undefined ? absolute(values['resolved-path'], cwd, '--resolved-path') : absPath);
  const tty = values.tty ?? null;
  let event: MonitorEvent;
  if (network !== null) {
    const net: NetworkEvent = {
      kind: 'network', timestampNs, hostPid: 0, hostTid: 0, hostPpid: 0, pid: 0, ppid: 0, uid, gid: 0, euid: uid,
      comm: basename(exe).slice(0, 15), exePath: exe, parentExePath: values['parent-exe'] ?? '',
      cgroupId: 0n, mntNs: 0, pidNs: 0, netNs: 0, tty, cwd, ...network,
    };
    event = net;
  } else if (kind === 'process') {
    const exec: ExecEvent = {
      kind: 'process', timestampNs, hostPid: 0, hostTid: 0, hostPpid: 0, pid: 0, ppid: 0, uid, gid: 0, euid: uid,
      comm: basename(resolvedPath ?? absPath).slice(0, 15),
      exePath: ret < 0 ? exe : (resolvedPath ?? absPath),
      callerExePath: exe,
      parentExePath: values['parent-exe'] ?? '',
      cgroupId: 0n, mntNs: 0, pidNs: 0, netNs: 0,
      syscall: syscall as ExecSyscall, dirfd: -100, flags: 0, ret,
      path, absPath, resolvedPath, ownerUid,
      argv: [basename(path), ...(values.args ?? [])], argvTruncated: false, tty, cwd,
    };
    event = exec;
  } else {
    const file: FileEvent = {
      kind: 'file', timestampNs, hostPid: 0, hostTid: 0, hostPpid: 0, pid: 0, ppid: 0, uid, gid: 0, euid: uid,
      comm: basename(exe).slice(0, 15),
      exePath: exe,
      parentExePath: values['parent-exe'] ?? '',
      cgroupId: 0n, mntNs: 0, pidNs: 0, netNs: 0,
      syscall: syscall as FileSyscall, dirfd: -100, flags, mode: 0, args: {}, ret,
      path,
      absPath,
      resolvedPath,
      path2: values['new-path'] ?? null,
      absPath2: newPath,
      cwd,
      ownerUid,
      tty,
    };
    event = file;
  }
  const engine = compilePolicies(loaded.policies, { defaultFilePosture: posture, defaultNetworkPosture: networkPosture });
  const decision = kind === 'syscall' ? engine.decideSyscall({ event, workload }, node) : engine.decide({ event, workload }, node);
  const out = decision === null ? null : renderAlert({ event, workload, node, decision });
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}
