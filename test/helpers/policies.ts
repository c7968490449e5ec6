// Policy documents the tests write into policy folders.
import { hostname } from 'node:os';

/** A KubeArmorHostPolicy for this node: `spec` is the YAML under `spec:` after the node selector (indented two spaces). */
export function hostPolicy(name: string, spec: string): string {
  return `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: ${name}
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: ${hostname()}
${spec}`;
}

/** A KubeArmorHostPolicy for this node auditing the given paths (file matchPaths). */
export function hostAuditPolicy(name: string, paths: readonly string[]): string {
  return hostPolicy(name, `  file:
    matchPaths:
${paths.map((p) => `      - path: ${p}\n`).join('')}  action: Audit
`);
}
