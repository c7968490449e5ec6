// Shapes of a validated policy document, as far as armorwatch reads them. Everything else of the
// spec (process, network, ...) is validated but kept only as plain data.
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
}

export interface FileDirRule extends RuleCommon {
  readonly dir: string;
  readonly recursive?: boolean;
  readonly fromSource?: readonly FromSource[];
  readonly ownerOnly?: boolean;
  readonly readOnly?: boolean;
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
