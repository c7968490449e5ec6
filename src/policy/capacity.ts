// The kernel filter's capacity (--kernel-filter-capacity): each of its maps (exact paths,
// directory prefixes, executed files, their directories, base names) holds at most that many
// entries of one policy set (twice that in the kernel: the set in force and the next one). One check, used by `validate` and by the
// agent at start-up and on every reload: a set needing more is refused as a whole, naming the
// policies that contribute most entries.
import { ArmorwatchError } from '../errors.ts';
import { execFilterEntries, kernelFilterEntries } from '../monitor/filter.ts';
import { compilePolicies, type EngineOptions } from './engine.ts';
import type { KernelFilterSpec } from '../types.ts';
import type { PolicyDocument } from './types.ts';

export interface FilterContributor {
  readonly file: string;
  /** kind/namespace/name */
  readonly policy: string;
  /** Entries this policy alone puts in the fuller map. */
  readonly entries: number;
}

/** The policy set needs more entries than the kernel maps hold. */
export class FilterCapacityError extends ArmorwatchError {
  /** Entries of the fullest map of each kind: exact paths, directory prefixes, executions (paths, directories or names). */
  readonly needed: { readonly exactPaths: number; readonly dirPrefixes: number; readonly executions: number };
  readonly capacity: number;
  readonly contributors: readonly FilterContributor[];
  constructor(needed: { exactPaths: number; dirPrefixes: number; executions: number }, capacity: number, contributors: readonly FilterContributor[], shown: number) {
    const list = contributors.slice(0, shown).map((c) => `${c.file}: ${c.policy} (${c.entries})`).join('; ');
    const more = contributors.length > shown ? `; and ${contributors.length - shown} more` : '';
    super('AW_POLICY_FILTER_CAPACITY',
      `the policies need ${needed.exactPaths} exact paths and ${needed.dirPrefixes} directory prefixes${needed.executions > capacity ? ` and ${needed.executions} executable entries (paths, directories or names)` : ''} in the kernel filter, `
      + `more than its capacity of ${capacity} each (--kernel-filter-capacity); most entries come from: ${list}${more}`);
    this.name = 'FilterCapacityError';
    this.needed = needed;
    this.capacity = capacity;
    this.contributors = contributors;
  }
}

/**
 * Null when `filter` (the kernel filter of `policies`) fits in `capacity` entries per map; else the
 * error naming the policies contributing most entries (each policy's own filter, largest first).
 */
export function checkFilterCapacity(filter: KernelFilterSpec, policies: readonly PolicyDocument[], capacity: number,
  how: { readonly engine?: EngineOptions; readonly shown?: number; readonly displayFile?: (file: string) => string } = {}): FilterCapacityError | null {
  const needed = kernelFilterEntries(filter);
  const fullest = (f: KernelFilterSpec): number => Math.max(...Object.values(execFilterEntries(f.exec)));
  const execs = fullest(filter);
  if (needed.exactPaths <= capacity && needed.dirPrefixes <= capacity && execs <= capacity) return null;
  const contributors: FilterContributor[] = [];
  for (const doc of policies) {
    const own = compilePolicies([doc], how.engine).kernelFilter();
    const n = kernelFilterEntries(own);
    const entries = needed.exactPaths > capacity ? n.exactPaths : needed.dirPrefixes > capacity ? n.dirPrefixes : fullest(own);
    if (entries > 0) contributors.push({ file: how.displayFile?.(doc.source.file) ?? doc.source.file, policy: doc.key, entries });
  }
  contributors.sort((a, b) => b.entries - a.entries || (a.policy < b.policy ? -1 : 1));
  return new FilterCapacityError({ ...needed, executions: execs }, capacity, contributors, how.shown ?? 5);
}
