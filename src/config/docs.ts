// Renders the option table of docs/CONFIGURATION.md from RUN_OPTIONS (the parser's own table);
// test/config/docs.test.ts compares, `node src/config/docs.ts` rewrites it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RUN_OPTIONS } from './options.ts';

export const DOC_PATH = fileURLToPath(new URL('../../docs/CONFIGURATION.md', import.meta.url));
const BEGIN = '<!-- generated:options -->';
const END = '<!-- end:options -->';

const cell = (s: string): string => s.replaceAll('|', '\\|');

export function optionsTable(): string {
  const rows = RUN_OPTIONS.map((o) => `| \`--${o.name}${o.arg === undefined ? '' : ` ${cell(o.arg)}`}\`${o.repeatable === true ? ' (repeatable)' : ''} | ${o.env.map((e) => `\`${e}\``).join(', ')} | ${cell(o.default)} | ${cell(o.help)} |`);
  return ['| flag | environment (first wins) | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderDoc(text: string): string {
  const i = text.indexOf(BEGIN);
  const j = text.indexOf(END);
  if (i < 0 || j < i) throw new Error(`docs/CONFIGURATION.md lacks the ${BEGIN} … ${END} markers`);
  return `${text.slice(0, i + BEGIN.length)}\n${optionsTable()}\n${text.slice(j)}`;
}

if (import.meta.main) {
  writeFileSync(DOC_PATH, renderDoc(readFileSync(DOC_PATH, 'utf8')));
}
