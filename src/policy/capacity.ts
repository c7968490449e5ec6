// The kernel filter's capacity (--kernel-filter-capacity): each of its maps (exact paths,
// directory prefixes, executed files, their directories, base names, watched identities) holds at
// most that many entries of one policy set (twice that in the kernel: the set in force and the
// next one). One check, used by `validate` and by the agent at start-up and on every reload: a set
// needing more is refused as a whole, naming the policies that contribute most entries. Watched
// identities are counted as the files and directories the host policies name plus those the
// container policies name (what one container selected by all of them would need); more containers
// need more, which only the running agent knows: it refuses such an identity update as a whole
// (src/monitor/filter.ts identsCommand) and says so. The network filter has no map: no limit.
import { ArmorwatchError } from '../errors.ts';
import { execFilterEntries, kernelFilterEntries } from '../monitor/filter.ts';
import { compilePolicies, type CompiledRule, type EngineOptions } from './engine.ts';
import { identityTargets } from './identity.ts';
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
  /** Entries of the fullest map of each kind: exact paths, directory prefixes, executions (paths, directories or names), watched identities. */
  readonly needed: FilterNeeds;
  readonly capacity: number;
  readonly contributors: readonly FilterContributor[];
  constructor(needed: FilterNeeds, capacity: number, contributors: readonly FilterContributor[], shown: number) {
    const list = contributors.slice(0, shown).map((c) => `${c.file}: ${c.policy} (${c.entries})`).join('; ');
    const more = contributors.length > shown ? `; and ${contributors.length - shown} more` : '';
    super('AW_POLICY_FILTER_CAPACITY',
      `the policies need ${needed.exactPaths} exact paths and ${needed.dirPrefixes} directory prefixes${needed.executions > capacity ? ` and ${needed.executions} executable entries (paths, directories or names)` : ''}`
      + `${needed.identities > capacity ? ` and ${needed.identities} files and directories watched by identity` : ''} in the kernel filter, `
      + `more than its capacity of ${capacity} each (--kernel-filter-capacity); most entries come from: ${list}${more}`);
    this.name = 'FilterCapacityError';
    this.needed = needed;
    this.capacity = capacity;
    this.contributors = contributors;
  }
}

export interface FilterNeeds {
  readonly exactPaths: number;
  readonly dirPrefixes: number;
  readonly executions: number;
  readonly identities: number;
}

/** Files and directories `rules` watch by identity: the host's, and one container's selected by every container policy. */
function identityNeeds(rules: readonly CompiledRule[]): number {
  return identityTargets(rules, 'host').length + identityTargets(rules, 'container').length;
}

/**
 * Null when `filter` (the kernel filter of `policies`, whose compiled rules are `rules`) fits in `capacity` entries per map; else the
 * error naming the policies contributing most entries (each policy's own filter, largest first).
 */
export function checkFilterCapacity(filter: KernelFilterSpec, rules: readonly CompiledRule[], policies: readonly PolicyDocument[], capacity: number,
  how: { readonly engine?: EngineOptions; readonly shown?: number; readonly displayFile?: (file: string) => string } = {}): FilterCapacityError | null {
  const needed = kernelFilterEntries(filter);
  const fullest = (f: KernelFilterSpec): number => Math.max(...Object.values(execFilterEntries(f.exec)));
  const execs = fullest(filter);
  const identities = identityNeeds(rules);
  if (needed.exactPaths <= capacity && needed.dirPrefixes <= capacity && execs <= capacity && identities <= capacity) return null;
  const contributors: FilterContributor[] = [];
  for (const doc of policies) {
    const engine = compilePolicies([doc], how.engine);
    const own = engine.kernelFilter();
    const n = kernelFilterEntries(own);
    const entries = needed.exactPaths > capacity ? n.exactPaths : needed.dirPrefixes > capacity ? n.dirPrefixes : execs > capacity ? fullest(own) : identityNeeds(engine.rules);
    if (entries > 0) contributors.push({ file: how.displayFile?.(doc.source.file) ?? doc.source.file, policy: doc.key, entries });
  }
  contributors.sort((a, b) => b.entries - a.entries || (a.policy < b.policy ? -1 : 1));
  return new FilterCapacityError({ ...needed, executions: execs, identities }, capacity, contributors, how.shown ?? 5);
}
