// Renders the tables of docs/OTEL.md from the code (MAPPING, SEVERITY_TABLE), so the document
// cannot drift: test/export/docs.test.ts compares, and `node src/export/docs.ts` rewrites them.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MAPPING } from './attributes.ts';
import { SEVERITY_FALLBACK, SEVERITY_TABLE, severityName } from './severity.ts';

export const DOC_PATH = fileURLToPath(new URL('../../docs/OTEL.md', import.meta.url));

const ONLY = { file: 'File and Syscall matches only', process: 'Process matches only', network: 'Network matches only', throttle: 'throttling notices (Type `AlertThreshold`) only', scan: 'port-scan records (Type `PortScan`) only' } as const;

function mappingTable(where: 'resource' | 'record'): string {
  const rows = MAPPING.filter((m) => m.where === where)
    .map((m) => `| \`${m.name}\` | ${m.from} | ${m.type} | ${[m.note, m.only === undefined ? '' : ONLY[m.only], m.option === undefined ? '' : `only with ${m.option}`].filter((x) => x !== '').join('; ')} |`);
  return ['| attribute | KubeArmor field of the same match | type | notes |', '|---|---|---|---|', ...rows].join('\n');
}

function severityTable(): string {
  const rows = SEVERITY_TABLE.slice(1).map((n, i) => `| ${i + 1} | ${n} | ${severityName(n)} |`);
  rows.push(`| none (DefaultPosture) | ${SEVERITY_FALLBACK} | ${severityName(SEVERITY_FALLBACK)} |`);
  return ['| policy severity | SeverityNumber | name |', '|---|---|---|', ...rows].join('\n');
}

export const SECTIONS: Readonly<Record<string, () => string>> = {
  resource: () => mappingTable('resource'),
  record: () => mappingTable('record'),
  severity: severityTable,
};

/** The document with every `<!-- generated:NAME -->` … `<!-- end:NAME -->` section re-rendered. */
export function renderDoc(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const begin = `<!-- generated:${name} -->`;
    const end = `<!-- end:${name} -->`;
    const i = out.indexOf(begin);
    const j = out.indexOf(end);
    if (i < 0 || j < i) throw new Error(`docs/OTEL.md lacks the ${begin} … ${end} markers`);
    out = `${out.slice(0, i + begin.length)}\n${render()}\n${out.slice(j)}`;
  }
  return out;
}

if (import.meta.main) {
  writeFileSync(DOC_PATH, renderDoc(readFileSync(DOC_PATH, 'utf8')));
}
