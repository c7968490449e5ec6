// What both renderers of a match (the KubeArmor JSON line and the OTLP record) say the same way:
// who acted on what, by which call, with which result. Computed once per match from the typed
// event; each renderer then only places these values in its own shape.
import {
  AF_INET, AF_INET6, AF_UNIX, defaultProtocol, familyName, formatCallFlags, formatData, formatResult, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
  networkResource, protocolName, socketTypeName,
} from '../format/index.ts';
import { hasDirfd, SYSCALLS, type SyscallInfo } from '../syscalls.ts';
import type { FileEvent, Match, NetworkEvent, SocketAddress } from '../types.ts';

/** An endpoint of a connection: an IP address and port, or a unix socket's path (no port). */
export interface Endpoint {
  readonly address: string;
  readonly port: number | undefined;
}

/**
 * The network facts of a network match, in the terms of OpenTelemetry's network semantic
 * conventions (docs/OTEL.md): who is the peer, which side is the server, which transport.
 */
export interface NetworkText {
  /** `tcp`, `udp`, `unix`, or the IP protocol's name in lower case (`icmp`, `sctp`); undefined when unknown. */
  readonly transport: string | undefined;
  /** `ipv4` or `ipv6` (an IPv4-mapped IPv6 peer is ipv4); undefined outside IP. */
  readonly type: 'ipv4' | 'ipv6' | undefined;
  readonly peer: Endpoint | undefined;
  readonly local: Endpoint | undefined;
  /** connect: the peer (this process is the client); accept: the listening address, when known. */
  readonly server: Endpoint | undefined;
  /** accept: the peer (this process is the server). */
  readonly client: Endpoint | undefined;
  /** The socket's triple as KubeArmor names it: `AF_INET`, `SOCK_STREAM`, `TCP`. */
  readonly domain: string;
  readonly socketType: string;
  readonly protocol: string;
  /** The socket's fd (socket(): the one it returned); undefined when unknown. */
  readonly fd: number | undefined;
}

export interface MatchText {
  readonly call: SyscallInfo;
  /** The executable that acted (KubeArmor's Source): the accessing process, or for an exec the caller. */
  readonly source: string;
  /** KubeArmor's ProcessName: the accessing process's executable, or the executed file. */
  readonly processName: string;
  /** Its parent's executable. */
  readonly parentProcessName: string;
  /** The accessed path, or for an exec the command line. */
  readonly resource: string;
  /** The path the kernel really used when it differs from the requested one, else undefined. */
  readonly resolvedResource: string | undefined;
  /** The opened file's path from the root of the process's mount namespace, when it differs from the path it opened (chroot). */
  readonly hostResource: string | undefined;
  /** The rule path the opened file was matched under by identity (hard link, bind mount, ...), when it is none of the paths above. */
  readonly matchedResource: string | undefined;
  /** The accessed file (file and syscall matches), undefined for an exec. */
  readonly filePath: string | undefined;
  /** argv of an exec, undefined otherwise. */
  readonly commandArgs: readonly string[] | undefined;
  readonly argsTruncated: boolean;
  readonly tty: string | undefined;
  readonly data: string;
  readonly flags: string | undefined;
  readonly dirfd: number | undefined;
  readonly result: string;
  readonly passed: boolean;
  /** `Audit` or `Audit (Block)`. */
  readonly action: string;
  readonly type: 'MatchedPolicy' | 'MatchedHostPolicy';
  /** Network matches only. */
  readonly network: NetworkText | undefined;
}

function endpoint(a: SocketAddress | null): Endpoint | undefined {
  if (a === null) return undefined;
  switch (a.family) {
    case 'inet': return { address: a.address, port: a.port };
    case 'inet6': return { address: a.mappedV4 ?? a.address, port: a.port };
    case 'unix': return { address: a.abstract ? `@${a.path}` : a.path, port: undefined };
    default: return undefined;
  }
}

function transportOf(ev: NetworkEvent): string | undefined {
  if (ev.domain === AF_UNIX) return 'unix';
  if (ev.domain !== AF_INET && ev.domain !== AF_INET6) return undefined;
  const protocol = defaultProtocol(ev.domain, ev.type, ev.protocol);
  if (protocol === IPPROTO_TCP) return 'tcp';
  if (protocol === IPPROTO_UDP || protocol === IPPROTO_UDPLITE) return 'udp';
  const name = protocolName(protocol);
  return /^[0-9]+$/.test(name) || protocol === 0 ? undefined : name.toLowerCase();
}

/** The network facts of a network event (see NetworkText). */
export function networkText(ev: NetworkEvent): NetworkText {
  const peer = ev.syscall === 'socket' ? undefined : endpoint(ev.remote);
  const local = endpoint(ev.local);
  const accepted = ev.syscall === 'accept' || ev.syscall === 'accept4';
  const mapped = (ev.remote?.family === 'inet6' && ev.remote.mappedV4 !== undefined) || (ev.local?.family === 'inet6' && ev.local.mappedV4 !== undefined);
  return {
    transport: transportOf(ev),
    type: ev.domain === AF_INET || mapped ? 'ipv4' : ev.domain === AF_INET6 ? 'ipv6' : undefined,
    peer,
    local,
    server: ev.syscall === 'connect' ? peer : accepted ? local : undefined,
    client: accepted ? peer : undefined,
    domain: familyName(ev.domain),
    socketType: socketTypeName(ev.type),
    protocol: protocolName(ev.protocol),
    fd: ev.fd >= 0 ? ev.fd : ev.syscall === 'socket' && ev.ret >= 0 ? ev.ret : undefined,
  };
}

/** The command line KubeArmor shows as Resource: the executed path, then the arguments after argv[0]. */
export function commandLine(path: string, argv: readonly string[]): string {
  let out = path;
  for (let i = 1; i < argv.length; i++) out += ` ${argv[i]}`;
  return out;
}

export function matchText(m: Match): MatchText {
  const ev = m.event;
  const call = SYSCALLS[ev.syscall];
  const flags = formatCallFlags(ev);
  const common = {
    call,
    parentProcessName: ev.parentExePath,
    data: formatData(ev, flags),
    flags,
    dirfd: ev.kind !== 'network' && hasDirfd(call) ? ev.dirfd : undefined,
    result: formatResult(ev.ret),
    passed: ev.ret >= 0,
    action: m.decision.action === 'Block' ? 'Audit (Block)' : 'Audit',
    type: m.workload.kind === 'container' ? 'MatchedPolicy' : 'MatchedHostPolicy',
    tty: ev.tty ?? undefined,
    network: ev.kind === 'network' ? networkText(ev) : undefined,
  } as const;
  if (ev.kind === 'network') {
    // KubeArmor's network record: the socket's triple or the peer/local address as Resource, `fd=N` in Data.
    return {
      ...common,
      source: ev.exePath,
      processName: ev.exePath,
      resource: networkResource(ev),
      resolvedResource: undefined,
      hostResource: undefined,
      matchedResource: undefined,
      filePath: undefined,
      commandArgs: undefined,
      argsTruncated: false,
    };
  }
  if (ev.kind === 'process') {
    return {
      ...common,
      source: ev.callerExePath,
      processName: ev.absPath,
      resource: commandLine(ev.absPath, ev.argv),
      resolvedResource: ev.resolvedPath !== null && ev.resolvedPath !== ev.absPath ? ev.resolvedPath : undefined,
      hostResource: undefined,
      matchedResource: undefined,
      filePath: undefined,
      commandArgs: ev.argv,
      argsTruncated: ev.argvTruncated,
    };
  }
  return {
    ...common,
    source: ev.exePath,
    processName: ev.exePath,
    resource: ev.absPath,
    resolvedResource: ev.resolvedPath !== null && ev.resolvedPath !== ev.absPath ? ev.resolvedPath : undefined,
    hostResource: ev.hostPath !== undefined && ev.hostPath !== null && ev.hostPath !== (ev.resolvedPath ?? ev.absPath) ? ev.hostPath : undefined,
    matchedResource: matchedByIdentity(ev, m.decision.matchedPath),
    filePath: ev.absPath,
    commandArgs: undefined,
    argsTruncated: false,
  };
}

/** The rule path the decision matched when it came from an identity match only (none of the event's own paths). */
function matchedByIdentity(ev: FileEvent, matched: string): string | undefined {
  const ids = ev.identityPaths;
  if (ids === undefined || ids === null || !ids.some((id) => id.path === matched)) return undefined;
  return matched !== ev.absPath && matched !== ev.resolvedPath && matched !== ev.hostPath ? matched : undefined;
}
