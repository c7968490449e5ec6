// The README's "two commands" as a user runs them: the agent command is the project's own entry
// point on the pinned Node.js, quiet, and SIGTERM to the process the user started stops the agent
// (once, `npx armorwatch run` left the agent running and holding its port after SIGTERM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defer, killOnExit } from '../helpers/cleanup.ts';
import { freePort } from '../helpers/collector.ts';
import { needsBpf } from '../helpers/privileges.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The indented command lines of the README's "The two commands" section. */
function twoCommands(): string[] {
  const section = README.split(/^## /m).find((s) => s.startsWith('The two commands'));
  assert.ok(section, 'README has a "The two commands" section');
  return section.split('\n').filter((l) => /^ {4}\S/.test(l)).map((l) => l.trim()).filter((l) => /scripts\/|bin\//.test(l));
}

/** The agent command the README gives after set-up, split into words. */
function agentCommand(): string[] {
  const line = twoCommands().find((l) => l.includes(' run '));
  assert.ok(line, 'the README gives a command that runs the agent');
  const agent = line.split('&&').at(-1)!.trim();
  return agent.split(/\s+/);
}

test('the README runs the agent with the project\'s entry point, not npx or the system npm', () => {
  const cmds = twoCommands();
  assert.deepEqual(cmds.filter((c) => /\bnpx\b|\bnpm\b/.test(c)), [], 'no npm or npx in the README\'s commands');
  assert.equal(agentCommand()[0], 'bin/armorwatch');
  assert.ok(cmds.some((c) => c.startsWith('bash scripts/setup.sh')), 'set-up is scripts/setup.sh');
});

/** Processes whose command line contains `needle`. */
function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) found.push(Number(p));
    } catch { /* gone */ }
  }
  return found;
}

const accepts = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

test('SIGTERM to the README\'s agent command stops the agent: exit 0, port released, no process left, only its own log lines', { timeout: 240_000 }, async (t) => {  // attaching eBPF takes minutes on a loaded 2-core machine
  if (!needsBpf(t)) return;
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const [cmd, ...args] = agentCommand();
  const child = killOnExit(spawn(join(ROOT, cmd!), [...args, '--health-addr', addr], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  defer(t, 'kill the agent if it still runs', () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let err = '';
  child.stdout.resume();
  child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  for (const end = Date.now() + 150_000; !err.includes('"msg":"ready"'); await new Promise((r) => setTimeout(r, 100))) {
    assert.ok(Date.now() < end && child.exitCode === null, `the agent did not become ready:\n${err.slice(-3000)}`);
  }
  assert.ok(await accepts(port), 'the health port answers while the agent runs');

  child.kill('SIGTERM');
  const [code] = await once(child, 'exit') as [number | null];
  assert.equal(code, 0, err.slice(-3000));
  assert.equal(await accepts(port), false, 'the health port is released');
  assert.deepEqual(processesWith(addr), [], 'no process of this agent is left');
  // Quiet: the agent's own JSON log lines only (no npm notices, engine or deprecation warnings).
  const stray = err.trim().split('\n').filter((l) => !l.startsWith('{'));
  assert.deepEqual(stray, [], 'only the agent\'s JSON log lines on stderr');
});
