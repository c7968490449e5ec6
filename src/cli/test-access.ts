// `armorwatch test`: decide one file access offline against policies and print the alert (or null).
import { basename, isAbsolute, posix } from 'node:path';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { errnoFromName, FlagParseError, parseAtFlags, parseOpenFlags, parseRenameFlags } from '../format/index.ts';
import { buildAlert } from '../policy/alert.ts';
import { compilePolicies } from '../policy/engine.ts';
import { loadPolicies, PolicyPathError } from '../policy/load.ts';
import { formatProblem } from '../policy/types.ts';
import { FILE_SYSCALLS, type FileEvent, type FileSyscall, type NodeIdentity, type Workload } from '../types.ts';

const HELP = `Usage: armorwatch test --policies DIR --path PATH [options]

Decides one file access offline, as the agent would, and prints the alert as one JSON object
in KubeArmor's alert shape, or null when no alert is raised.

Policies:
  --policies DIR         policy directory or file (repeatable)
  --default-posture P    audit (default) or block: file posture where no namespace annotation says
The access:
  --path PATH            accessed path (absolute, or relative with --cwd)
  --cwd DIR              working directory of the process (default /)
  --resolved-path PATH   path the kernel opened, when it differs (symlinks)
  --new-path PATH        destination of rename, renameat, renameat2
  --syscall NAME         ${FILE_SYSCALLS.join(', ')} (default openat)
  --flags FLAGS          e.g. O_RDONLY|O_CLOEXEC (open calls), AT_REMOVEDIR, RENAME_NOREPLACE
  --result R             Passed (default), an errno name (ENOENT, EACCES, ...) or number
  --exe PATH             executable of the process
  --parent-exe PATH      executable of its parent
  --uid N                user id of the process (default 0)
  --owner-uid N          user id of the file's owner (for ownerOnly rules)
Where it happens:
  --namespace NS         pod namespace (default "default")
  --labels k=v,k=v       pod labels
  --container NAME       container name
  --host                 a host process instead (host policies apply)
  --node-labels k=v,...  node labels (host policies' nodeSelector)
  --hostname H           node name (default: this machine's)
  -h, --help             show this help

Exit status: 0 decided (alert or null), 1 invalid policies (problems on stderr), 2 usage error.
`;

const OPTIONS = {
  policies: { type: 'string', multiple: true },
  path: { type: 'string' },
  cwd: { type: 'string' },
  'resolved-path': { type: 'string' },
  'new-path': { type: 'string' },
  exe: { type: 'string' },
  'parent-exe': { type: 'string' },
  namespace: { type: 'string' },
  labels: { type: 'string' },
  container: { type: 'string' },
  host: { type: 'boolean' },
  'node-labels': { type: 'string' },
  hostname: { type: 'string' },
  syscall: { type: 'string' },
  flags: { type: 'string' },
  uid: { type: 'string' },
  'owner-uid': { type: 'string' },
  result: { type: 'string' },
  'default-posture': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usage(msg: string): UsageError {
  return new UsageError(`test: ${msg}\nRun 'armorwatch test --help' for usage.`);
}

/** `k=v,k=v` → labels. */
export function parseLabels(text: string | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined || text.trim() === '') return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw usage(`${option}: "${part}" is not k=v`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function parseInteger(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(text.trim())) throw usage(`${option}: "${text}" is not an integer`);
  return Number(text);
}

function absolute(path: string, cwd: string, option: string): string {
  if (isAbsolute(path)) return posix.normalize(path);
  if (!isAbsolute(cwd)) throw usage(`--cwd must be absolute (got "${cwd}")`);
  if (path === '') throw usage(`${option} must not be empty`);
  return posix.normalize(posix.join(cwd, path));
}

function parseResult(text: string | undefined): number {
  if (text === undefined || text.toLowerCase() === 'passed') return 0;
  if (/^-?[0-9]+$/.test(text)) return -Math.abs(Number(text));
  const n = errnoFromName(text);
  if (n === undefined) throw usage(`--result: unknown errno name "${text}" (use Passed, ENOENT, EACCES, ... or a number)`);
  return -n;
}

function parseFlags(text: string | undefined, syscall: FileSyscall): number {
  if (text === undefined) return 0;
  try {
    switch (syscall) {
      case 'unlinkat': case 'fchmodat': case 'fchownat': return parseAtFlags(text);
      case 'renameat2': return parseRenameFlags(text);
      default: return parseOpenFlags(text);
    }
  } catch (err) {
    if (err instanceof FlagParseError) throw usage(`--flags: ${err.message}`);
    throw err;
  }
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (err) {
    throw usage((err as Error).message);
  }
  if (values.help === true) { process.stdout.write(HELP); return 0; }
  if (values.policies === undefined || values.policies.length === 0) throw usage('--policies DIR is required');
  if (values.path === undefined) throw usage('--path PATH is required');
  const syscall = (values.syscall ?? 'openat') as FileSyscall;
  if (!(FILE_SYSCALLS as readonly string[]).includes(syscall)) throw usage(`--syscall: unknown "${syscall}" (one of ${FILE_SYSCALLS.join(', ')})`);
  const posture = values['default-posture'] ?? 'audit';
  if (posture !== 'audit' && posture !== 'block') throw usage(`--default-posture must be audit or block (got "${posture}")`);
  if (values.host === true && (values.namespace !== undefined || values.labels !== undefined || values.container !== undefined)) {
    throw usage('--host cannot be combined with --namespace, --labels or --container');
  }
  const cwd = values.cwd ?? '/';
  const absPath = absolute(values.path, cwd, '--path');
  const ret = parseResult(values.result);
  const flags = parseFlags(values.flags, syscall);
  const uid = parseInteger(values.uid, '--uid') ?? 0;
  const ownerUid = parseInteger(values['owner-uid'], '--owner-uid') ?? null;
  const newPath = values['new-path'] === undefined ? null : absolute(values['new-path'], cwd, '--new-path');
  const exe = values.exe ?? '';
  const host = values['hostname'] ?? hostname();
  const node: NodeIdentity = {
    clusterName: 'default',
    hostName: host,
    labels: { 'kubearmor.io/hostname': host, 'kubernetes.io/hostname': host, ...parseLabels(values['node-labels'], '--node-labels') },
  };
  const workload: Workload = values.host === true
    ? { kind: 'host', labels: {} }
    : {
      kind: 'container',
      namespace: values.namespace ?? 'default',
      labels: parseLabels(values.labels, '--labels'),
      ...(values.container !== undefined ? { containerName: values.container } : {}),
    };

  let loaded;
  try {
    loaded = await loadPolicies(values.policies);
  } catch (err) {
    if (err instanceof PolicyPathError) throw usage(err.message);
    throw err;
  }
  if (loaded.problems.length > 0) {
    process.stderr.write(`${loaded.problems.map(formatProblem).join('\n')}\n`);
    process.stderr.write(`armorwatch test: ${loaded.invalidDocuments} invalid policy document(s); fix them first\n`);
    return 1;
  }
  const event: FileEvent = {
    timestampNs: BigInt(Date.now()) * 1_000_000n,
    hostPid: 0, hostTid: 0, hostPpid: 0, pid: 0, ppid: 0, uid, gid: 0, euid: uid,
    comm: basename(exe).slice(0, 15), tty: null,
    exePath: exe,
    parentExePath: values['parent-exe'] ?? '',
    cgroupId: 0n, mntNs: 0, pidNs: 0, netNs: 0,
    syscall, dirfd: -100, flags, mode: 0, args: {}, ret,
    path: values.path,
    absPath,
    resolvedPath: ret < 0 ? null : (values['resolved-path'] !== undefined ? absolute(values['resolved-path'], cwd, '--resolved-path') : absPath),
    path2: values['new-path'] ?? null,
    absPath2: newPath,
    cwd,
    ownerUid,
  };
  const engine = compilePolicies(loaded.policies, { defaultFilePosture: posture });
  const decision = engine.decide({ event, workload }, node);
  const out = decision === null ? null : buildAlert({ event, workload }, node, decision);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}
