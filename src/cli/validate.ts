// `armorwatch validate PATH...`: check policy files and print every problem.
import { parseArgs } from 'node:util';
import { isAbsolute, relative } from 'node:path';
import { UsageError } from '../errors.ts';
import { formatSameNamed, formatUnobserved, sameNamed, unobservedFields } from '../policy/coverage.ts';
import { discoverPolicyFiles, escapeControls, type Discovery } from '../policy/discover.ts';
import { loadPolicyFiles, PolicyPathError, summarize } from '../policy/load.ts';
import { formatProblem } from '../policy/types.ts';
import { checkFilterCapacity } from '../policy/capacity.ts';
import { compilePolicies } from '../policy/engine.ts';
import { kernelFilterCapacity } from '../config/parse.ts';
import { KERNEL_FILTER_CAPACITY_DEFAULT } from '../monitor/filter.ts';

const HELP = `Usage: armorwatch validate [options] PATH...

Checks KubeArmor policy files (KubeArmorPolicy, KubeArmorClusterPolicy, KubeArmorHostPolicy)
against the policy schema and prints one line per problem: file:line:col: field: message.
A PATH may be a file or a directory (searched for *.yaml and *.yml up to 16 levels deep; names
starting with '.' are skipped, so a mounted ConfigMap is read once). Other kinds of documents are
skipped. Only regular files are read; symbolic links are followed only within the directory given,
and links leaving it, link loops, FIFOs and devices are passed over with a warning on standard error.
File names and keys are printed with control characters escaped (\\xNN), as are bytes of a name that
are not UTF-8.

Options:
  -q, --quiet   print only the summary line
  --kernel-filter-capacity ENTRIES
                entries each kernel filter map holds, as for \`armorwatch run\`
                (default 65536; or ARMORWATCH_KERNEL_FILTER_CAPACITY): valid policies
                needing more are an error naming the policies that contribute most
  -h, --help    show this help

A valid document with sections armorwatch does not observe on this node (capabilities, network,
AppArmor profiles, devices, presets, system calls it cannot see) gets one warning line naming them;
so does a policy name (kind, namespace, name) given by more than one document (all of them would be
in force; a cluster keeps the last one applied). Warnings do not change the exit status.

Exit status: 0 all documents valid, 1 some document invalid, some file or directory unreadable,
or the valid policies need more kernel filter entries than the capacity, 2 usage error.
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
      options: { help: { type: 'boolean', short: 'h' }, quiet: { type: 'boolean', short: 'q' }, 'kernel-filter-capacity': { type: 'string' } },
    });
  } catch (err) {
    throw new UsageError(`validate: ${(err as Error).message}\nRun 'armorwatch validate --help' for usage.`);
  }
  if (parsed.values.help === true) { process.stdout.write(HELP); return 0; }
  const cap = parsed.values['kernel-filter-capacity'];
  const envCap = process.env.ARMORWATCH_KERNEL_FILTER_CAPACITY;
  const capacity = cap !== undefined ? kernelFilterCapacity({ value: cap, source: '--kernel-filter-capacity' })
    : envCap !== undefined && envCap !== '' ? kernelFilterCapacity({ value: envCap, source: 'ARMORWATCH_KERNEL_FILTER_CAPACITY' })
      : KERNEL_FILTER_CAPACITY_DEFAULT;
  if (parsed.positionals.length === 0) throw new UsageError('validate: give at least one policy file or directory\nRun \'armorwatch validate --help\' for usage.');
  let found: Discovery;
  try {
    found = await discoverPolicyFiles(parsed.positionals);
  } catch (err) {
    if (err instanceof PolicyPathError) throw new UsageError(`validate: ${escapeControls(err.message)}`);
    throw err;
  }
  const result = summarize(await loadPolicyFiles(found.files), found);
  // Directories that could not be read are errors (their policies were not checked); whatever
  // else the search passed over, and empty folders, are warnings.
  const unreadable = found.skipped.filter((s) => s.reason === 'unreadable');
  const warnings = [
    ...found.skipped.filter((s) => s.reason !== 'unreadable').map((s) => `warning: ${s.message}`),
    ...found.empty.map((d) => `warning: ${display(d)}: no policy files (*.yaml, *.yml) in this folder`),
  ];
  if (warnings.length > 0) process.stderr.write(`${warnings.map(escapeControls).join('\n')}\n`);
  if (parsed.values.quiet !== true) {
    const lines = [
      ...unreadable.map((s) => `${display(s.name)}: cannot read the directory (${s.errno ?? 'unknown error'})`),
      ...result.problems.map((p) => formatProblem({ ...p, file: display(p.file) })),
    ];
    // File names and keys come from the files: escaped, so they cannot forge lines or terminal codes.
    if (lines.length > 0) process.stdout.write(`${lines.map(escapeControls).join('\n')}\n`);
    const unobserved = result.policies.flatMap((doc) => {
      const list = unobservedFields(doc);
      return list.length === 0 ? [] : [formatUnobserved(doc, list, display(doc.source.file))];
    });
    if (unobserved.length > 0) process.stdout.write(`${unobserved.map(escapeControls).join('\n')}\n`);
    const same = sameNamed(result.policies).map(({ key, docs }) => formatSameNamed(key, docs, (d) => display(d.source.file)));
    if (same.length > 0) process.stdout.write(`${same.map(escapeControls).join('\n')}\n`);
  }
  // The valid policies together, as the agent would load them: do they fit the kernel filter?
  const all = compilePolicies(result.policies);
  const overflow = checkFilterCapacity(all.kernelFilter(), all.rules, result.policies, capacity, { shown: 10, displayFile: display });
  if (overflow !== null) process.stdout.write(`${escapeControls(overflow.message)}\n`);
  const skipped = result.skippedDocuments > 0 ? `, ${result.skippedDocuments} skipped (not policies)` : '';
  const unread = unreadable.length > 0 ? `; ${plural(unreadable.length, 'directory', 'directories')} unreadable` : '';
  process.stdout.write(`checked ${plural(found.files.length, 'file')}, ${plural(result.documents, 'document')}: ${result.invalidDocuments} invalid${skipped}${unread}\n`);
  return result.invalidDocuments > 0 || unreadable.length > 0 || overflow !== null ? 1 : 0;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
