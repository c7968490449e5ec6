// Entry point: picks the subcommand and hands over. Each command lives in its own file under src/cli.
import { redactText } from '../config/redact.ts';
import { ArmorwatchError, UsageError } from '../errors.ts';

interface Command {
  readonly summary: string;
  /** The command logs JSON lines (the agent): a failure is also written as one JSON `fatal` line. */
  readonly jsonLogs?: boolean;
  readonly load: () => Promise<{ main(argv: string[]): Promise<number> }>;
}

async function printVersion(): Promise<number> {
  const { VERSION } = await import('../version.ts');
  process.stdout.write(`${VERSION}\n`);
  return 0;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  run: { summary: 'monitor file access, match policies, export alerts (the agent)', jsonLogs: true, load: () => import('./run.ts') },
  trace: { summary: 'stream every file event as JSON lines (no policies)', jsonLogs: true, load: () => import('./trace.ts') },
  validate: { summary: 'check policy files and report every problem', load: () => import('./validate.ts') },
  test: { summary: 'decide one access offline against policies', load: () => import('./test-access.ts') },
  version: { summary: 'print the version and exit', load: async () => ({ main: printVersion }) },
  help: { summary: 'print this help and exit', load: async () => ({ main: async () => { process.stdout.write(usage()); return 0; } }) },
};

/** Flags understood before (instead of) a command. */
const GLOBAL_FLAGS: ReadonlyArray<readonly [string, string]> = [
  ['-h, --help', 'print this help and exit'],
  ['--version', 'print the version and exit'],
];

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  const flags = GLOBAL_FLAGS.map(([f, what]) => `  ${f.padEnd(12)} ${what}`);
  return `Usage: armorwatch <command> [options]\n       armorwatch --version | --help\n\nCommands:\n${lines.join('\n')}\n\nGlobal flags:\n${flags.join('\n')}\n\nRun 'armorwatch <command> --help' for the options of a command.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') return printVersion();
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    process.stderr.write(`armorwatch: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.main(rest);
}

async function report(err: unknown, command: Command | undefined): Promise<number> {
  // Messages may quote configuration: secrets (header values, URL passwords) are not printed.
  // The agent's log pipeline reads JSON lines: the failure as one of them too, after the plain text.
  if (command?.jsonLogs === true) (await import('../log.ts')).logFatal(err);
  if (err instanceof UsageError) {
    process.stderr.write(redactText(`armorwatch: ${err.message}\n`));
    return 2;
  }
  if (err instanceof ArmorwatchError) {
    process.stderr.write(redactText(`armorwatch: ${err.message} [${err.code}]\n`));
    return 1;
  }
  process.stderr.write(redactText(`armorwatch: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`));
  return 1;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  main(argv).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => report(err, COMMANDS[argv[0] ?? '']).then((code) => { process.exitCode = code; }),
  );
}
