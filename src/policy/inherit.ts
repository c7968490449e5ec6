// How a rule inherits action, severity, tags and message (its own value, then its section's, then
// the spec's: POLICY-SEMANTICS.md), and how fromSource lists become sets, for every rule kind.
import type { FromSource } from './types.ts';

/** Default severity when neither the rule, its section nor the spec sets one (KubeArmor's). */
export const DEFAULT_SEVERITY = 1;

/** The first value that is set: not undefined, not an empty string, not an empty list. */
export function pick<T>(...values: Array<T | undefined>): T | undefined {
  for (const v of values) {
    if (v === undefined) continue;
    if (typeof v === 'string' && v === '') continue;
    if (Array.isArray(v) && v.length === 0) continue;
    return v;
  }
  return undefined;
}

/** The executables of a fromSource list, null when it names none (any process). */
export function sources(list: readonly FromSource[] | undefined): ReadonlySet<string> | null {
  const paths = (list ?? []).map((s) => s.path).filter((p): p is string => typeof p === 'string' && p !== '');
  return paths.length === 0 ? null : new Set(paths);
}
