// Entry point: picks the subcommand and hands over. Each command lives in its own file under src/cli.
import { redactText } from '../config/redact.ts';
import { ArmorwatchError, UsageError } from '../errors.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  run: { summary: 'monitor file access, match policies, export alerts (the agent)', load: () => import('./run.ts') },
  trace: { summary: 'stream every file event as JSON lines (no policies)', load: () => import('./trace.ts') },
  validate: { summary: 'check policy files and report every problem', load: () => import('./validate.ts') },
  test: { summary: 'decide one access offline against policies', load: () => import('./test-access.ts') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: armorwatch <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'armorwatch <command> --help' for the options of a command.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const { VERSION } = await import('../version.ts');
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    process.stderr.write(`armorwatch: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // Messages may quote configuration: secrets (header values, URL passwords) are not printed.
    if (err instanceof UsageError) {
      process.stderr.write(redactText(`armorwatch: ${err.message}\n`));
      process.exitCode = 2;
    } else if (err instanceof ArmorwatchError) {
      process.stderr.write(redactText(`armorwatch: ${err.message} [${err.code}]\n`));
      process.exitCode = 1;
    } else {
      process.stderr.write(redactText(`armorwatch: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`));
      process.exitCode = 1;
    }
  },
);
