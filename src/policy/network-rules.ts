// Network rules (`spec.network.matchProtocols`, POLICY-SEMANTICS.md "Network rules"): which sockets
// each protocol name of the CRD stands for, as a bit set, so that matching an event against a rule
// is one AND of the event's classes with the rule's. docs/POLICIES.md ("Network rules") lists the
// same table in prose; test/policy/match-network.test.ts checks every row on real socket triples.
import {
  AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX, IPPROTO_DCCP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_MPTCP, IPPROTO_SCTP,
  IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, SOCK_DCCP, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET, SOCK_STREAM,
} from '../format/net.ts';
import type { PolicyRef } from './engine.ts';
import { DEFAULT_SEVERITY, pick, sources } from './inherit.ts';
import type { Action, NetworkProtocolRule, PolicyDocument } from './types.ts';

/**
 * The protocol names of the CRD's `protocol` pattern (matched case-insensitively), each a bit; `all`
 * is every bit. What each one matches is `classify` below.
 */
export const PROTOCOL_BITS = {
  tcp: 1 << 0,
  udp: 1 << 1,
  icmp: 1 << 2,
  icmpv6: 1 << 3,
  raw: 1 << 4,
  sctp: 1 << 5,
  dccp: 1 << 6,
  packet: 1 << 7,
  stream: 1 << 8,
  dgram: 1 << 9,
  seqpacket: 1 << 10,
  rdm: 1 << 11,
} as const;
export type ProtocolName = keyof typeof PROTOCOL_BITS | 'all';
export const ALL_PROTOCOLS = (1 << 12) - 1;

/**
 * The socket protocols (the kernel's sk_protocol, IPPROTO_*) among which every socket `classify`
 * puts under a name is found, for the kernel filter; 'any' where the name is about the family or the
 * type (raw, packet, stream, ...), which the filter does not see. Kept beside classify() and checked
 * against it by test/policy/kernel-filter-network.test.ts.
 */
export const KERNEL_PROTOCOLS: Readonly<Record<keyof typeof PROTOCOL_BITS, readonly number[] | 'any'>> = {
  tcp: [IPPROTO_TCP, IPPROTO_MPTCP],
  udp: [IPPROTO_UDP, IPPROTO_UDPLITE],
  icmp: [IPPROTO_ICMP],
  icmpv6: [IPPROTO_ICMPV6],
  raw: 'any',
  sctp: [IPPROTO_SCTP],
  // A DCCP socket the kernel refused to create keeps the protocol 0 it was asked for.
  dccp: [IPPROTO_DCCP, 0],
  packet: 'any',
  stream: 'any',
  dgram: 'any',
  seqpacket: 'any',
  rdm: 'any',
};

/** The protocol names a rule may give, lower case, in the order docs/POLICIES.md lists them. */
export const PROTOCOL_NAMES: readonly ProtocolName[] = [...Object.keys(PROTOCOL_BITS) as (keyof typeof PROTOCOL_BITS)[], 'all'];

/** The bits of a protocol name as written in a policy (any case), or undefined when armorwatch does not know it. */
export function protocolBits(name: string): number | undefined {
  const lower = name.toLowerCase();
  if (lower === 'all') return ALL_PROTOCOLS;
  return Object.hasOwn(PROTOCOL_BITS, lower) ? PROTOCOL_BITS[lower as keyof typeof PROTOCOL_BITS] : undefined;
}

/**
 * Unix-domain and netlink sockets are local channels (to other processes, to the kernel's routing
 * and configuration), not network access: network rules and the network posture leave them alone.
 */
export function isNetworkDomain(domain: number): boolean {
  return domain !== AF_UNIX && domain !== AF_NETLINK;
}

/**
 * Which protocol names a socket (domain, type without SOCK_NONBLOCK/SOCK_CLOEXEC, protocol) answers
 * to: 0 for a socket outside network rules (unix, netlink). Protocol 0 means the family's default
 * (TCP for an IP stream socket, UDP for an IP datagram socket), as socket(2) picks it.
 */
export function classify(domain: number, type: number, protocol: number): number {
  if (!isNetworkDomain(domain)) return 0;
  const ip = domain === AF_INET || domain === AF_INET6;
  let bits = 0;
  switch (type) {
    case SOCK_STREAM: bits |= PROTOCOL_BITS.stream; break;
    case SOCK_DGRAM: bits |= PROTOCOL_BITS.dgram; break;
    case SOCK_RAW: bits |= PROTOCOL_BITS.raw; break;
    case SOCK_SEQPACKET: bits |= PROTOCOL_BITS.seqpacket; break;
    case SOCK_RDM: bits |= PROTOCOL_BITS.rdm; break;
    default: break;
  }
  if (domain === AF_PACKET) bits |= PROTOCOL_BITS.packet;
  if (ip) {
    if (type === SOCK_STREAM && (protocol === 0 || protocol === IPPROTO_TCP || protocol === IPPROTO_MPTCP)) bits |= PROTOCOL_BITS.tcp;
    if (type === SOCK_DGRAM && (protocol === 0 || protocol === IPPROTO_UDP || protocol === IPPROTO_UDPLITE)) bits |= PROTOCOL_BITS.udp;
    if (protocol === IPPROTO_ICMP) bits |= PROTOCOL_BITS.icmp;
    if (protocol === IPPROTO_ICMPV6) bits |= PROTOCOL_BITS.icmpv6;
    if (protocol === IPPROTO_SCTP) bits |= PROTOCOL_BITS.sctp;
    if (protocol === IPPROTO_DCCP || (type === SOCK_DCCP && protocol === 0)) bits |= PROTOCOL_BITS.dccp;
    // A raw IP socket for TCP or UDP (a scanner crafting packets) is raw, and of that protocol too.
    if (type === SOCK_RAW && protocol === IPPROTO_TCP) bits |= PROTOCOL_BITS.tcp;
    if (type === SOCK_RAW && protocol === IPPROTO_UDP) bits |= PROTOCOL_BITS.udp;
  }
  return bits;
}

/** One `matchProtocols` entry with its inherited fields resolved. */
export interface CompiledNetworkRule {
  readonly policy: PolicyRef;
  readonly policyIndex: number;
  readonly index: number;
  /** Position in the whole set: the last tie-break. */
  readonly order: number;
  /** The protocol as written (`TCP`, `icmp`). */
  readonly protocol: string;
  /** protocolBits(protocol); 0 for a name armorwatch does not know (matches nothing; coverage.ts reports it). */
  readonly bits: number;
  readonly action: Action;
  readonly severity: number;
  readonly tags: readonly string[];
  readonly message: string | undefined;
  /** Executables the rule is narrowed to (the process's own); null: any process. */
  readonly fromSource: ReadonlySet<string> | null;
  /** `pts: false`: only processes with a controlling terminal. */
  readonly ttyOnly: boolean;
}

/** The `network.matchProtocols` rules of a policy: a rule's own action/severity/tags/message, then the section's, then the spec's. */
export function compileNetworkRules(p: PolicyDocument, policy: PolicyRef, policyIndex: number, firstOrder: number): CompiledNetworkRule[] {
  const section = p.spec.network;
  if (section === undefined || section === null) return [];
  const rules: readonly NetworkProtocolRule[] = section.matchProtocols ?? [];
  return rules.map((r, index): CompiledNetworkRule => ({
    policy, policyIndex, index, order: firstOrder + index,
    protocol: r.protocol,
    bits: protocolBits(r.protocol) ?? 0,
    action: pick<Action>(r.action, section.action, p.spec.action) ?? 'Block',
    severity: pick(r.severity, section.severity, p.spec.severity) ?? DEFAULT_SEVERITY,
    tags: pick<readonly string[]>(r.tags, section.tags, p.spec.tags) ?? [],
    message: pick(r.message, section.message, p.spec.message),
    fromSource: sources(r.fromSource),
    ttyOnly: r.pts === false,
  }));
}
