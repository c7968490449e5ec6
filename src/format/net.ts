// Network records as KubeArmor writes them: socket families, types and protocols by name, and the
// Resource of a network event (`domain=AF_INET type=SOCK_STREAM protocol=TCP` for socket(),
// `remoteip=10.0.0.7 port=5432 protocol=TCP` for a connection).
import type { NetworkEvent, SocketAddress } from '../types.ts';

const FAMILIES: ReadonlyMap<number, string> = new Map([
  [0, 'AF_UNSPEC'], [1, 'AF_UNIX'], [2, 'AF_INET'], [10, 'AF_INET6'], [16, 'AF_NETLINK'], [17, 'AF_PACKET'],
]);
const TYPES: ReadonlyMap<number, string> = new Map([
  [1, 'SOCK_STREAM'], [2, 'SOCK_DGRAM'], [3, 'SOCK_RAW'], [4, 'SOCK_RDM'], [5, 'SOCK_SEQPACKET'], [6, 'SOCK_DCCP'], [10, 'SOCK_PACKET'],
]);
/** IPPROTO_* numbers by the names KubeArmor prints (and `matchProtocols` names, lower-cased). */
const PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [0, 'IP'], [1, 'ICMP'], [6, 'TCP'], [17, 'UDP'], [58, 'ICMPv6'], [132, 'SCTP'], [136, 'UDPLITE'], [255, 'RAW'],
]);

// Linux ABI numbers (include/linux/socket.h, include/linux/net.h, include/uapi/linux/in.h).
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_RDM = 4;
export const SOCK_SEQPACKET = 5;
export const SOCK_DCCP = 6;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_DCCP = 33;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;
export const IPPROTO_MPTCP = 262;

/** `AF_INET`; an unnamed family as its number. */
export function familyName(af: number): string {
  return FAMILIES.get(af) ?? String(af);
}

export function socketTypeName(type: number): string {
  return TYPES.get(type) ?? String(type);
}

export function protocolName(protocol: number): string {
  return PROTOCOLS.get(protocol) ?? String(protocol);
}

/** The protocol the kernel picks for protocol 0 (TCP for inet stream, UDP for inet datagram), else `protocol`. */
export function defaultProtocol(domain: number, type: number, protocol: number): number {
  if (protocol !== 0 || (domain !== AF_INET && domain !== AF_INET6)) return protocol;
  return type === SOCK_STREAM ? IPPROTO_TCP : type === SOCK_DGRAM ? IPPROTO_UDP : protocol;
}

/** `10.0.0.7`, `::1`, a unix path (`@name` when abstract), or `AF_<n>` for another family. */
export function formatAddress(a: SocketAddress): string {
  switch (a.family) {
    case 'inet': case 'inet6': return a.address;
    case 'unix': return a.abstract ? `@${a.path}` : a.path;
    default: return familyName(a.af);
  }
}

function addressPart(label: 'remote' | 'local', a: SocketAddress): string {
  if (a.family === 'inet' || a.family === 'inet6') return `${label}ip=${a.address} port=${a.port}`;
  if (a.family === 'unix') return `${label}path=${formatAddress(a)}`;
  return `${label}family=${familyName(a.af)}`;
}

/**
 * The Resource of a network event: the socket's triple for socket() and for calls whose address is
 * unknown; `remoteip=… port=… protocol=…` for connect/accept (the peer), `localip=…` for bind/listen.
 */
export function networkResource(ev: Pick<NetworkEvent, 'syscall' | 'domain' | 'type' | 'protocol' | 'remote' | 'local'>): string {
  const addr = ev.syscall === 'connect' || ev.syscall === 'accept' || ev.syscall === 'accept4'
    ? (ev.remote === null ? null : addressPart('remote', ev.remote))
    : ev.syscall === 'socket' || ev.local === null ? null : addressPart('local', ev.local);
  const protocol = `protocol=${protocolName(ev.protocol)}`;
  if (addr === null) return `domain=${familyName(ev.domain)} type=${socketTypeName(ev.type)} ${protocol}`;
  return `${addr} ${protocol}`;
}
