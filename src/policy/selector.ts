// Which workloads a policy applies to: selectors of the three kinds, compiled to predicates.
import type { NodeIdentity, Workload } from '../types.ts';
import type { MatchExpression, PolicyDocument } from './types.ts';

export type AppliesTo = (w: Workload, node: NodeIdentity) => boolean;

export const CONTAINER_NAME_LABEL = 'kubearmor.io/container.name';
export const HOSTNAME_LABEL = 'kubearmor.io/hostname';

/** `[web, sidecar]` or `web,sidecar` or `web` → the names. */
export function parseNameList(value: string): string[] {
  return value.replace(/^\s*\[/, '').replace(/\]\s*$/, '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `k=v` holds when the label k has value v; a bare `k` holds when the label exists. */
function labelHolds(labels: Readonly<Record<string, string>>, kv: string): boolean {
  const eq = kv.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, kv.trim());
  const k = kv.slice(0, eq).trim();
  return Object.hasOwn(labels, k) && labels[k] === kv.slice(eq + 1).trim();
}

function expressionHolds(e: MatchExpression, w: Workload): boolean {
  const values = e.values ?? [];
  let anyHolds: boolean;
  if (e.key === 'namespace') anyHolds = values.some((v) => v === w.namespace);
  else if (e.key === 'label') anyHolds = values.some((v) => labelHolds(w.labels, v));
  else return true; // no key: nothing to test (the schema allows it)
  if (e.operator === 'NotIn') return !anyHolds;
  if (e.operator === 'In') return anyHolds;
  return true;
}

function compileContainerSelector(p: PolicyDocument): AppliesTo {
  const matchLabels = { ...(p.spec.selector?.matchLabels ?? {}) };
  let containerNames: string[] | null = null;
  if (Object.hasOwn(matchLabels, CONTAINER_NAME_LABEL)) {
    containerNames = parseNameList(matchLabels[CONTAINER_NAME_LABEL]!);
    delete matchLabels[CONTAINER_NAME_LABEL];
  }
  const pairs = Object.entries(matchLabels);
  const expressions = p.spec.selector?.matchExpressions ?? [];
  const namespace = p.namespace;
  const cluster = p.kind === 'KubeArmorClusterPolicy';
  return (w) => {
    if (w.kind !== 'container') return false;
    if (!cluster && w.namespace !== namespace) return false;
    for (const [k, v] of pairs) if (w.labels[k] !== v) return false;
    if (containerNames !== null && (w.containerName === undefined || !containerNames.includes(w.containerName))) return false;
    for (const e of expressions) if (!expressionHolds(e, w)) return false;
    return true;
  };
}

function compileNodeSelector(p: PolicyDocument): AppliesTo {
  const pairs = Object.entries(p.spec.nodeSelector?.matchLabels ?? {});
  if (pairs.length === 0) return () => false; // an empty nodeSelector matches no node
  return (w, node) => {
    if (w.kind !== 'host') return false;
    for (const [k, v] of pairs) {
      if (k === HOSTNAME_LABEL) {
        if (v.trim() === '*') continue;
        const host = node.labels[HOSTNAME_LABEL] ?? node.hostName;
        if (!parseNameList(v).includes(host)) return false;
      } else if (node.labels[k] !== v) {
        return false;
      }
    }
    return true;
  };
}

export function compileSelector(p: PolicyDocument): AppliesTo {
  return p.kind === 'KubeArmorHostPolicy' ? compileNodeSelector(p) : compileContainerSelector(p);
}
