// Event times as KubeArmor prints them. Events come in bursts within one second, so the
// "YYYY-MM-DDTHH:MM:SS" part is computed once per second and kept.

let isoSecond = '';
let isoPrefix = '';

/** Seconds, nanoseconds (9 digits) and the whole of an epoch time in ns, as decimal text (no BigInt division on the common path). */
export function splitNs(ns: bigint): [sec: string, nanos: string, all: string] {
  const s = ns.toString();
  if (s.length > 9 && ns > 0n) return [s.slice(0, -9), s.slice(-9), s];
  return [(ns / 1_000_000_000n).toString(), (ns % 1_000_000_000n).toString().padStart(9, '0'), s];
}

/** `2026-01-02T03:04:05` for epoch seconds given as decimal text. */
export function isoSeconds(sec: string): string {
  if (sec !== isoSecond) {
    isoSecond = sec;
    isoPrefix = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  }
  return isoPrefix;
}

/** RFC 3339 with nanoseconds, UTC, as KubeArmor's UpdatedTime: `2026-11-28T17:29:38.123456789Z`. */
export function rfc3339Nano(ns: bigint): string {
  const [sec, nanos] = splitNs(ns);
  return `${isoSeconds(sec)}.${nanos}Z`;
}
