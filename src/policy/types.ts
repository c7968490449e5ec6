// Shapes of a validated policy document, as far as armorwatch reads them. The sections armorwatch
// cannot observe (capabilities, DNS queries, ...) are validated, kept as plain data, and reported as
// unobserved (coverage.ts).
import type { PolicyKind } from '../types.ts';

export type Action = 'Allow' | 'Audit' | 'Block';

export interface RuleCommon {
  readonly action?: Action;
  readonly severity?: number;
  readonly tags?: readonly string[];
  readonly message?: string;
}

export interface FromSource {
  readonly path?: string;
}

export interface FilePathRule extends RuleCommon {
  readonly path: string;
  readonly fromSource?: readonly FromSource[];
  readonly ownerOnly?: boolean;
  readonly readOnly?: boolean;
  readonly pts?: boolean;
}

export interface FileDirRule extends RuleCommon {
  readonly dir: string;
  readonly recursive?: boolean;
  readonly fromSource?: readonly FromSource[];
  readonly ownerOnly?: boolean;
  readonly readOnly?: boolean;
  readonly pts?: boolean;
}

export interface FilePatternRule extends RuleCommon {
  readonly pattern: string;
  readonly ownerOnly?: boolean;
  readonly readOnly?: boolean;
}

export interface FileSection extends RuleCommon {
  readonly matchPaths?: readonly FilePathRule[];
  readonly matchDirectories?: readonly FileDirRule[];
  readonly matchPatterns?: readonly FilePatternRule[];
}

export interface ProcessPathRule extends RuleCommon {
  readonly path?: string;
  readonly execname?: string;
  readonly allowedArgs?: readonly string[];
  readonly fromSource?: readonly FromSource[];
  readonly ownerOnly?: boolean;
  readonly pts?: boolean;
}

export interface ProcessDirRule extends RuleCommon {
  readonly dir: string;
  readonly recursive?: boolean;
  readonly fromSource?: readonly FromSource[];
  readonly ownerOnly?: boolean;
  readonly pts?: boolean;
}

export interface ProcessPatternRule extends RuleCommon {
  readonly pattern: string;
  readonly ownerOnly?: boolean;
}

export interface ProcessSection extends RuleCommon {
  readonly matchPaths?: readonly ProcessPathRule[];
  readonly matchDirectories?: readonly ProcessDirRule[];
  readonly matchPatterns?: readonly ProcessPatternRule[];
}

/** A syscall rule's source: an executable path, or a directory (ending in '/') with `recursive`. */
export interface SyscallSource {
  readonly path?: string;
  readonly dir?: string;
  readonly recursive?: boolean;
}

export interface SyscallMatch {
  readonly syscall?: readonly string[];
  readonly fromSource?: readonly SyscallSource[];
}

export interface SyscallPathMatch extends SyscallMatch {
  /** A file, or a directory ending in '/'. */
  readonly path?: string;
  readonly recursive?: boolean;
}

export interface SyscallsSection {
  readonly severity?: number;
  readonly tags?: readonly string[];
  readonly message?: string;
  readonly matchSyscalls?: readonly SyscallMatch[];
  readonly matchPaths?: readonly SyscallPathMatch[];
}

export interface NetworkProtocolRule extends RuleCommon {
  /** A protocol name of the CRD (`tcp`, `UDP`, `icmp`, `raw`, `all`, ...). */
  readonly protocol: string;
  readonly fromSource?: readonly FromSource[];
  readonly pts?: boolean;
}

export interface NetworkSection extends RuleCommon {
  readonly matchProtocols?: readonly NetworkProtocolRule[];
  /** Validated and reported as not observed (coverage.ts). */
  readonly matchDNSQueries?: readonly unknown[];
}

export interface MatchExpression {
  readonly key?: 'label' | 'namespace';
  readonly operator?: 'In' | 'NotIn';
  readonly values?: readonly string[];
}

export interface Selector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly MatchExpression[];
}

export interface PolicySpec extends RuleCommon {
  readonly selector?: Selector;
  readonly nodeSelector?: { readonly matchLabels?: Readonly<Record<string, string>> };
  readonly file?: FileSection;
  readonly process?: ProcessSection;
  readonly network?: NetworkSection;
  readonly syscalls?: SyscallsSection;
  readonly [section: string]: unknown;
}

/** Where a document came from: the file, its index among the file's documents, and its first line. */
export interface SourceRef {
  readonly file: string;
  readonly doc: number;
  readonly line: number;
}

/** A document that passed validation. */
export interface PolicyDocument {
  readonly kind: PolicyKind;
  readonly name: string;
  /** metadata.namespace for KubeArmorPolicy (`default` when absent, as kubectl applies it); undefined for cluster kinds. */
  readonly namespace: string | undefined;
  /** kind/namespace/name: the identity of a policy across reloads. */
  readonly key: string;
  readonly source: SourceRef;
  readonly spec: PolicySpec;
  /** Hash of the document's content, so that unchanged documents are recognised on reload. */
  readonly hash: string;
}

/** One problem found in a policy file. `path` is the field path (`spec.file.matchPaths[0].path`), '' for the whole document. */
export interface Problem {
  readonly file: string;
  readonly doc: number;
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly message: string;
  readonly code: string;
}

export function policyKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

/** `file:line:col: path: message`, the line `armorwatch validate` prints. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}
