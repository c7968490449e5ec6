// What port-scan detection needs of the kernel filter: every TCP and UDP connect (their outcomes
// pass with them). Added to what the policies need; the filter may pass more than either needs
// (KernelFilterSpec's invariant), never less.
import type { KernelFilterSpec, NetworkFilterSpec } from '../types.ts';

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/**
 * `spec` letting TCP and UDP connects through as well. When no policy needs connects, the detector
 * needs each distinct target only once per `repeatWindowMs` (its fast window): the kernel then
 * counts repeats instead of reporting them (NetworkFilterSpec.repeatWindowMs).
 */
export function withScanNeeds(spec: KernelFilterSpec, repeatWindowMs: number): KernelFilterSpec {
  const n = spec.network;
  if (n?.passAll === true) return spec;
  const calls = n?.calls ?? [];
  const rulesNeedConnects = calls.includes('connect');
  const protocols = n?.protocols ?? [];
  // An empty protocol list with calls means any protocol already; with no calls it means nothing yet.
  const anyProtocol = calls.length > 0 && protocols.length === 0;
  const network: NetworkFilterSpec = Object.freeze({
    passAll: false,
    calls: calls.includes('connect') ? calls : [...calls, 'connect' as const],
    protocols: anyProtocol ? [] : [...new Set([...protocols, IPPROTO_TCP, IPPROTO_UDP])],
    ...(rulesNeedConnects ? {} : { repeatWindowMs }),
  });
  return Object.freeze({ ...spec, network });
}
