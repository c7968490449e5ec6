// The top-level command line as a user meets it: usage, version, and how a failed start is reported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/armorwatch', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });

test('--version and `version` print the package version; so does bin/armorwatch', () => {
  for (const args of [['--version'], ['version']]) {
    const r = run(...args);
    assert.equal(r.status, 0, args.join(' '));
    assert.equal(r.stdout, `${VERSION}\n`);
    assert.equal(r.stderr, '');
  }
  const bin = spawnSync(BIN, ['--version'], { encoding: 'utf8', env: { ...process.env, ARMORWATCH_FROM_SOURCE: '1' } });
  assert.equal(bin.stdout, `${VERSION}\n`, bin.stderr);
});

test('the usage lists every command (each answering --help) and every global flag', () => {
  const help = run('--help');
  assert.equal(help.status, 0);
  const commands = [...help.stdout.matchAll(/^ {2}([a-z][a-z-]*) {2,}\S/gm)].map((m) => m[1]);
  assert.deepEqual(commands, ['run', 'trace', 'validate', 'test', 'version', 'help']);
  assert.match(help.stdout, /^ {2}-h, --help +print this help/m);
  assert.match(help.stdout, /^ {2}--version +print the version/m);
  for (const c of ['run', 'trace', 'validate', 'test']) {
    const r = run(c, '--help');
    assert.equal(r.status, 0, `${c} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Usage: armorwatch ${c === 'test' ? 'test' : c}\\b`), `${c} --help`);
  }
  assert.equal(run('help').stdout, help.stdout);
  assert.equal(run('-h').stdout, help.stdout);
  const none = run();
  assert.equal(none.status, 2, 'no command is a usage error');
  assert.equal(none.stdout, help.stdout);
  const unknown = run('frobnicate');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});

test('a failed start of the agent: the plain message, and the same as one JSON fatal line', () => {
  const r = run('run', '--policies', '/p', '--queue-size', 'many');
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  const fatal = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(fatal.level, 'fatal');
  assert.equal(fatal.code, 'AW_USAGE');
  assert.equal(fatal.msg, '--queue-size: invalid value "many": expected a whole number greater than 0');
  assert.match(String(fatal.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(lines[1], `armorwatch: ${fatal.msg as string}`);
  // `validate` is a tool for people: plain text only.
  const v = run('validate', '--bogus');
  assert.equal(v.status, 2);
  assert.ok(!v.stderr.includes('"level"'), v.stderr);
});
