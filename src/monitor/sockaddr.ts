// struct sockaddr bytes (as the kernel program copies them: family first, host byte order; ports
// and addresses in network byte order) → SocketAddress. IPv6 text as RFC 5952 writes it.
import type { SocketAddress } from '../types.ts';

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;

function dotted(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** The 16 bytes at `at` as RFC 5952 text: lower-case hex, the longest run of two or more zero groups as `::`, `::ffff:a.b.c.d` for IPv4-mapped. */
export function ipv6Text(b: Buffer, at: number): string {
  if (isMappedV4(b, at)) return `::ffff:${dotted(b, at + 12)}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + 2 * i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

function isMappedV4(b: Buffer, at: number): boolean {
  for (let i = 0; i < 10; i++) if (b[at + i] !== 0) return false;
  return b[at + 10] === 0xff && b[at + 11] === 0xff;
}

/** Decodes `len` bytes of a sockaddr at `start`; null when there is none (or too few bytes for its family). */
export function decodeSockaddr(rec: Buffer, start: number, len: number): SocketAddress | null {
  if (len < 2) return null;
  const family = rec.readUInt16LE(start);
  if (family === AF_INET) {
    if (len < 8) return null;
    return { family: 'inet', address: dotted(rec, start + 4), port: rec.readUInt16BE(start + 2) };
  }
  if (family === AF_INET6) {
    if (len < 24) return null;
    const port = rec.readUInt16BE(start + 2);
    const address = ipv6Text(rec, start + 8);
    return isMappedV4(rec, start + 8) ? { family: 'inet6', address, port, mappedV4: dotted(rec, start + 20) } : { family: 'inet6', address, port };
  }
  if (family === AF_UNIX) {
    const end = start + len;
    if (len > 2 && rec[start + 2] === 0) return { family: 'unix', path: rec.toString('utf8', start + 3, end), abstract: true };
    let nul = rec.indexOf(0, start + 2);
    if (nul < 0 || nul > end) nul = end;
    return { family: 'unix', path: rec.toString('utf8', start + 2, nul), abstract: false };
  }
  return { family: 'other', af: family };
}
