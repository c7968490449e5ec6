// `armorwatch validate PATH...`: check policy files and print every problem.
import { parseArgs } from 'node:util';
import { isAbsolute, relative } from 'node:path';
import { UsageError } from '../errors.ts';
import { findPolicyFiles, loadPolicyFile, PolicyPathError, summarize } from '../policy/load.ts';
import { formatUnobserved, unobservedFields } from '../policy/coverage.ts';
import { formatProblem } from '../policy/types.ts';

const HELP = `Usage: armorwatch validate [options] PATH...

Checks KubeArmor policy files (KubeArmorPolicy, KubeArmorClusterPolicy, KubeArmorHostPolicy)
against the policy schema and prints one line per problem: file:line:col: field: message.
A PATH may be a file or a directory (searched for *.yaml and *.yml at any depth; names starting
with '.' are skipped, so a mounted ConfigMap is read once). Other kinds of documents are skipped.

Options:
  -q, --quiet   print only the summary line
  -h, --help    show this help

A valid document with sections armorwatch does not observe on this node (capabilities, network,
AppArmor profiles, devices, presets, system calls it cannot see) gets one warning line naming them;
warnings do not change the exit status.

Exit status: 0 all documents valid, 1 some document invalid, 2 usage error.
`;

function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: { help: { type: 'boolean', short: 'h' }, quiet: { type: 'boolean', short: 'q' } },
    });
  } catch (err) {
    throw new UsageError(`validate: ${(err as Error).message}\nRun 'armorwatch validate --help' for usage.`);
  }
  if (parsed.values.help === true) { process.stdout.write(HELP); return 0; }
  if (parsed.positionals.length === 0) throw new UsageError('validate: give at least one policy file or directory\nRun \'armorwatch validate --help\' for usage.');
  let files: string[];
  try {
    files = await findPolicyFiles(parsed.positionals);
  } catch (err) {
    if (err instanceof PolicyPathError) throw new UsageError(`validate: ${err.message}`);
    throw err;
  }
  const result = summarize(await Promise.all(files.map((f) => loadPolicyFile(f))));
  if (parsed.values.quiet !== true) {
    const lines = result.problems.map((p) => formatProblem({ ...p, file: display(p.file) }));
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    const warnings = result.policies.flatMap((doc) => {
      const list = unobservedFields(doc);
      return list.length === 0 ? [] : [formatUnobserved(doc, list, display(doc.source.file))];
    });
    if (warnings.length > 0) process.stdout.write(`${warnings.join('\n')}\n`);
  }
  const skipped = result.skippedDocuments > 0 ? `, ${result.skippedDocuments} skipped (not policies)` : '';
  process.stdout.write(`checked ${plural(files.length, 'file')}, ${plural(result.documents, 'document')}: ${result.invalidDocuments} invalid${skipped}\n`);
  return result.invalidDocuments > 0 ? 1 : 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
