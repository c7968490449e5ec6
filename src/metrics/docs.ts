// Renders the metric table of docs/METRICS.md from METRICS (the table the instruments are made
// from); test/metrics/docs.test.ts compares, `node src/metrics/docs.ts` rewrites it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { METRICS, prometheusBaseName, prometheusNames } from './definitions.ts';

export const DOC_PATH = fileURLToPath(new URL('../../docs/METRICS.md', import.meta.url));
const BEGIN = '<!-- generated:metrics -->';
const END = '<!-- end:metrics -->';

const cell = (s: string): string => s.replaceAll('|', '\\|');

export function metricsTable(): string {
  const rows = Object.values(METRICS).map((m) => {
    const labels = Object.entries(m.attributes).map(([k, v]) => `\`${k}\`: ${v}`).join('; ') || 'none';
    const prom = m.kind === 'histogram' ? `\`${prometheusBaseName(m)}\` (\`_bucket\`, \`_sum\`, \`_count\`)` : `\`${prometheusNames(m)[0]}\``;
    return `| ${prom} | \`${m.name}\` | ${m.kind} | \`${m.unit}\` | ${cell(m.description)} | ${cell(labels)} |`;
  });
  return ['| Prometheus (/metrics) | OpenTelemetry (OTLP) | type | unit | meaning | labels / attributes |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

export function renderDoc(text: string): string {
  const i = text.indexOf(BEGIN);
  const j = text.indexOf(END);
  if (i < 0 || j < i) throw new Error(`docs/METRICS.md lacks the ${BEGIN} … ${END} markers`);
  return `${text.slice(0, i + BEGIN.length)}\n${metricsTable()}\n${text.slice(j)}`;
}

if (import.meta.main) {
  writeFileSync(DOC_PATH, renderDoc(readFileSync(DOC_PATH, 'utf8')));
}
