// Field and label selectors as the Kubernetes API server parses them (the subset informers use).

export type Obj = { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;

type FieldTerm = { path: string[]; op: '=' | '!='; value: string };

export function parseFieldSelector(s: string | null): FieldTerm[] {
  if (s === null || s === '') return [];
  return s.split(',').map((term) => {
    const m = /^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$/.exec(term.trim());
    if (m === null) throw new SelectorError(`invalid field selector term "${term}"`);
    return { path: m[1]!.split('.'), op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
  });
}

export function matchesFields(obj: Obj, terms: FieldTerm[]): boolean {
  return terms.every((t) => {
    let v: unknown = obj;
    for (const p of t.path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
    const s = v === undefined || v === null ? '' : String(v);
    return t.op === '=' ? s === t.value : s !== t.value;
  });
}

type LabelTerm =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

export class SelectorError extends Error {}

export function parseLabelSelector(s: string | null): LabelTerm[] {
  if (s === null || s === '') return [];
  // Split on commas that are not inside a value set `(a,b)`.
  const terms: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) { terms.push(s.slice(start, i)); start = i + 1; }
  }
  terms.push(s.slice(start));
  return terms.map((raw) => {
    const term = raw.trim();
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m !== null) return { key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) };
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (m !== null) return { key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] };
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m !== null) return { key: m[2]!, op: m[1] === '!' ? '!exists' : 'exists' };
    throw new SelectorError(`invalid label selector term "${term}"`);
  });
}

export function matchesLabels(obj: Obj, terms: LabelTerm[]): boolean {
  const labels = obj.metadata?.labels ?? {};
  return terms.every((t) => {
    const has = Object.hasOwn(labels, t.key);
    switch (t.op) {
      case 'exists': return has;
      case '!exists': return !has;
      case 'in': return has && t.values.includes(labels[t.key]!);
      case 'notin': return !has || !t.values.includes(labels[t.key]!);
    }
  });
}
