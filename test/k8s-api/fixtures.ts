// Loads the Kubernetes objects under test/fixtures/k8s (multi-document YAML).
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };

export function loadFixture(name: string): K8sObject[] {
  const text = readFileSync(new URL(`../fixtures/k8s/${name}`, import.meta.url), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
}

export function findObject(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`fixture has no ${kind} ${name}`);
  return structuredClone(o);
}
