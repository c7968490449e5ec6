// Policy documents the tests write into policy folders.
import { hostname } from 'node:os';

/** A KubeArmorHostPolicy for this node auditing the given paths (file matchPaths). */
export function hostAuditPolicy(name: string, paths: readonly string[]): string {
  return `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: ${name}
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: ${hostname()}
  file:
    matchPaths:
${paths.map((p) => `      - path: ${p}\n`).join('')}  action: Audit
`;
}
