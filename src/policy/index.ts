// The policy stage: load and validate KubeArmor policies, compile them, decide each access.
export { compilePolicies, PolicyEngine, isWriteAccess, DEFAULT_SEVERITY } from './engine.ts';
export type { CompiledRule, Decision, EngineOptions, FilePosture, RuleSection } from './engine.ts';
export { buildKernelFilter, EMPTY_FILTER, PASS_ALL_FILTER } from './kernel-filter.ts';
export { findPolicyFiles, loadPolicies, loadPolicyFile, parsePolicyText, PolicyPathError, readPolicyBytes, summarize, DEFAULT_LOAD_LIMITS } from './load.ts';
export { discoverPolicyFiles, escapeName, escapeText } from './discover.ts';
export type { Discovery, PolicyFile, Skipped } from './discover.ts';
export type { FileResult, LoadLimits, LoadResult } from './load.ts';
export { CODES } from './validate.ts';
export { formatProblem, policyKey } from './types.ts';
export type { PolicyDocument, PolicySpec, Problem } from './types.ts';
export { PolicyStore } from './watch.ts';
export type { PolicyStoreOptions, PolicyStoreStatus, ReloadEvent } from './watch.ts';
export { FIELDS, formatSameNamed, formatUnobserved, SAME_NAME_CODE, sameNamed, sameNamedMessage, unobservedFields, UNOBSERVED_CODE, UNOBSERVED_SECTIONS } from './coverage.ts';
export type { FieldUse, Unobserved } from './coverage.ts';
export { OBSERVED_SYSCALLS } from './syscall-rules.ts';
export { checkFilterCapacity, FilterCapacityError, type FilterContributor } from './capacity.ts';
export { identityTargets, resolveIdentities, sameIdentities, kernelDev, IdentityWatch, IDENTITY_REFRESH_MS } from './identity.ts';
export type { IdentityWatchStatus, ResolvedIdentities } from './identity.ts';
