// Policy engine benchmark: decision time per access (median and p99, measured in batches) with the
// public corpus loaded and with 10,000 synthetic rules, against a naive scan over all rules in the
// same run; and the time of a full reload of the corpus. Usage: npm run bench:policy
// BENCH_COMPARE=<other checkout>: also the same decisions by that checkout's engine, in this process,
// rounds alternating, timed in CPU time (process.cpuUsage), so that a loaded machine's preemption
// counts against neither side (before/after comparisons of the engine).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicies, type CompiledRule, type PolicyEngine } from '../src/policy/engine.ts';
import { compileGlob } from '../src/policy/glob.ts';
import { loadPolicies, parsePolicyText } from '../src/policy/load.ts';
import type { PolicyDocument } from '../src/policy/types.ts';
import type { EnrichedEvent, FileEvent, NodeIdentity, Workload } from '../src/types.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.ARMORWATCH_SHARED_DIR ?? join(root, '..', 'shared');
const corpus = join(shared, 'policies', 'corpus');
if (!existsSync(corpus)) throw new Error(`corpus not found at ${corpus}; set ARMORWATCH_SHARED_DIR`);

const BATCH = 200;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 2000);

// A deterministic pseudo-random sequence, so runs are comparable.
let seed = 42;
function rand(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}

const node: NodeIdentity = { clusterName: 'default', hostName: 'bench', labels: { 'kubearmor.io/hostname': 'bench' } };

function ev(path: string, exe = '/bin/cat'): FileEvent {
  return {
    timestampNs: 1n, hostPid: 1, hostTid: 1, hostPpid: 1, pid: 1, ppid: 1, uid: 0, gid: 0, euid: 0, comm: 'cat', tty: null,
    exePath: exe, parentExePath: '/bin/sh', cgroupId: 1n, mntNs: 1, pidNs: 1, netNs: 1, syscall: 'openat',
    dirfd: -100, flags: 0, mode: 0, args: {}, ret: 3, path, absPath: path, resolvedPath: path, path2: null,
    absPath2: null, cwd: '/', ownerUid: 0,
  };
}

function stats(samples: number[]): { median: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! };
}

/** Per-decision nanoseconds, one sample per batch of BATCH decisions. */
function measure(decide: (e: EnrichedEvent) => unknown, inputs: readonly EnrichedEvent[]): { median: number; p99: number; alerts: number } {
  let alerts = 0;
  for (let i = 0; i < 20_000; i++) if (decide(inputs[i % inputs.length]!) !== null) alerts++; // warm-up
  alerts = 0;
  const samples: number[] = [];
  let k = 0;
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) if (decide(inputs[k++ % inputs.length]!) !== null) alerts++;
    samples.push(Number(process.hrtime.bigint() - t0) / BATCH);
  }
  return { ...stats(samples), alerts };
}

/** The obvious implementation: test every rule of every policy for every access. */
function naiveDecider(engine: PolicyEngine): (e: EnrichedEvent) => unknown {
  const globs = new Map<CompiledRule, RegExp>();
  for (const r of engine.rules) if (r.section === 'matchPatterns') globs.set(r, compileGlob(r.target));
  return (e) => {
    if (e.event.kind === 'network') return null;
    const p = e.event.absPath;
    let hit: CompiledRule | null = null;
    for (const r of engine.rules) {
      let m = false;
      if (r.section === 'matchPaths') m = r.target === p;
      else if (r.section === 'matchDirectories') m = p === r.target.slice(0, -1) || (p.startsWith(r.target) && (r.recursive || !p.slice(r.target.length).includes('/')));
      else m = globs.get(r)!.test(p);
      if (m && (r.fromSource === null || r.fromSource.has(e.event.exePath))) { hit = r; break; }
    }
    return hit;
  };
}

function syntheticPolicies(rules: number, perPolicy: number): PolicyDocument[] {
  const words = ['etc', 'var', 'lib', 'opt', 'srv', 'data', 'app', 'conf', 'log', 'cache', 'run', 'home', 'usr', 'share'];
  const seg = () => `${words[rand(words.length)]}${rand(50)}`;
  const docs: string[] = [];
  for (let p = 0; p < rules / perPolicy; p++) {
    const paths: string[] = [];
    const dirs: string[] = [];
    const pats: string[] = [];
    for (let r = 0; r < perPolicy; r++) {
      const depth = 2 + rand(4);
      const parts = Array.from({ length: depth }, seg);
      const kind = rand(100);
      if (kind < 60) paths.push(`      - path: /${parts.join('/')}`);
      else if (kind < 85) dirs.push(`      - dir: /${parts.slice(0, -1).join('/')}/\n        recursive: ${rand(2) === 0}`);
      else pats.push(`      - pattern: /${parts.slice(0, Math.max(1, parts.length - 2)).join('/')}/**/*.${['php', 'sh', 'key'][rand(3)]}`);
    }
    const sections = [paths.length ? `    matchPaths:\n${paths.join('\n')}` : '', dirs.length ? `    matchDirectories:\n${dirs.join('\n')}` : '', pats.length ? `    matchPatterns:\n${pats.join('\n')}` : ''].filter(Boolean);
    docs.push(`---\napiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata:\n  name: synth-${p}\n  namespace: ns${p % 5}\nspec:\n  selector:\n    matchLabels:\n      app: a${p % 3}\n  action: ${['Audit', 'Block'][p % 2]}\n  severity: ${1 + (p % 10)}\n  file:\n${sections.join('\n')}\n`);
  }
  const r = parsePolicyText('synthetic.yaml', docs.join(''), { maxFileBytes: 64 << 20, maxNodes: 10_000_000, maxDepth: 64 });
  return r.documents.flatMap((d) => (d.status === 'policy' ? [d.policy] : []));
}

function inputsFor(engine: PolicyEngine, workloads: readonly Workload[], n: number): EnrichedEvent[] {
  // Half the accesses hit a rule's path (or a file below a rule's directory), half miss.
  const targets = engine.rules.map((r) => (r.section === 'matchPaths' ? r.target : r.section === 'matchDirectories' ? `${r.target}f${rand(9)}` : `${r.target.replace(/\*\*.*$/, '')}x/y.${r.target.split('.').pop()}`));
  const misses = ['/usr/lib/x86_64-linux-gnu/libc.so.6', '/proc/self/stat', '/etc/ld.so.cache', '/tmp/x', '/var/www/html/index.php', '/usr/share/zoneinfo/UTC', '/dev/null', '/home/u/.bashrc'];
  const out: EnrichedEvent[] = [];
  for (let i = 0; i < n; i++) {
    const path = i % 2 === 0 && targets.length > 0 ? targets[rand(targets.length)]! : misses[rand(misses.length)]!;
    out.push({ event: ev(path), workload: workloads[rand(workloads.length)]! });
  }
  return out;
}

function fmt(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}

async function main(): Promise<void> {
  // Full reload of the corpus: find, read, parse, validate, compile.
  const reloads: number[] = [];
  let loaded = await loadPolicies([corpus]);
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    loaded = await loadPolicies([corpus]);
    compilePolicies(loaded.policies).kernelFilter();
    reloads.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const reload = stats(reloads);

  const corpusEngine = compilePolicies(loaded.policies);
  const namespaces = [...new Set(loaded.policies.map((p) => p.namespace).filter((n): n is string => n !== undefined))];
  const corpusWorkloads: Workload[] = namespaces.slice(0, 20).map((ns, i) => ({
    kind: 'container', namespace: ns, containerName: 'c', labels: Object.fromEntries(Object.entries(loaded.policies.find((p) => p.namespace === ns)?.spec.selector?.matchLabels ?? {}).concat([['i', String(i)]])),
  }));
  corpusWorkloads.push({ kind: 'host', labels: {} });
  const corpusInputs = inputsFor(corpusEngine, corpusWorkloads, 4096);

  const synth = syntheticPolicies(10_000, 100);
  const synthEngine = compilePolicies(synth);
  const synthWorkloads: Workload[] = Array.from({ length: 15 }, (_, i) => ({ kind: 'container', namespace: `ns${i % 5}`, labels: { app: `a${i % 3}` }, containerName: 'c' }));
  const synthInputs = inputsFor(synthEngine, synthWorkloads, 4096);

  // The comparison runs first, while neither checkout's code has run any decision: measured after
  // the runs below, this checkout's functions would carry their feedback and the other's not.
  if (process.env.BENCH_COMPARE !== undefined) await compare(process.env.BENCH_COMPARE, loaded.policies, corpusInputs, synth, synthInputs);
  const rows: Array<[string, number, { median: number; p99: number; alerts: number }, { median: number; p99: number; alerts: number }]> = [];
  const decide = (engine: PolicyEngine) => (e: EnrichedEvent) => engine.decide(e, node);
  // BENCH_NAIVE=0 skips the baseline (quicker runs while working on the engine).
  const naive = process.env.BENCH_NAIVE === '0' ? () => ({ median: NaN, p99: NaN, alerts: 0 }) : measure;
  rows.push(['public corpus', corpusEngine.rules.length, measure(decide(corpusEngine), corpusInputs), naive(naiveDecider(corpusEngine), corpusInputs)]);
  rows.push(['synthetic', synthEngine.rules.length, measure(decide(synthEngine), synthInputs), naive(naiveDecider(synthEngine), synthInputs)]);

  console.log(`node ${process.version}, ${BATCHES} batches of ${BATCH} decisions each, per-decision times`);
  console.log('');
  console.log('| policy set | file rules | engine median | engine p99 | naive scan median | naive scan p99 | naive / engine (median) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, rules, e, n] of rows) {
    console.log(`| ${name} | ${rules} | ${fmt(e.median)} | ${fmt(e.p99)} | ${fmt(n.median)} | ${fmt(n.p99)} | ${(n.median / e.median).toFixed(1)}× |`);
  }
  console.log('');
  console.log(`Full reload of the corpus (${loaded.files.length} files, ${loaded.documents} documents, ${loaded.policies.length} valid, ${corpusEngine.rules.length} file rules): median ${reload.median.toFixed(0)} ms, max ${Math.max(...reloads).toFixed(0)} ms over ${reloads.length} runs`);
  const synthRow = rows[1]![2];
  const ok = synthRow.median < 2000 && synthRow.p99 < 20_000 && reload.median < 1000;
  console.log(`Targets (10,000 rules: median < 2 µs, p99 < 20 µs; reload < 1 s): ${ok ? 'met' : 'NOT met'}`);
}

/** CPU ns per decision of this checkout's engine and of `other`'s, same policies and inputs, alternating rounds. */
async function compare(other: string, corpusPolicies: readonly PolicyDocument[], corpusInputs: readonly EnrichedEvent[], synth: readonly PolicyDocument[], synthInputs: readonly EnrichedEvent[]): Promise<void> {
  const theirs = (await import(join(resolve(other), 'src/policy/engine.ts'))) as { compilePolicies: typeof compilePolicies };
  const N = 200_000;
  const cpuNs = (decide: (e: EnrichedEvent) => unknown, inputs: readonly EnrichedEvent[]): number => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) decide(inputs[i % inputs.length]!);
    const c = process.cpuUsage(c0);
    return ((c.user + c.system) * 1000) / N;
  };
  console.log(`Same process, CPU time per decision, median of 15 rounds (order flipped each round) of ${N} decisions (this checkout vs ${other});`);
  console.log('the spread is of the ratio within each round (p25–p75), which shows how much a shared machine moves it:');
  console.log('');
  console.log('| policy set | this checkout | other checkout | this / other | per-round ratio p25–p75 |');
  console.log('|---|---|---|---|---|');
  for (const [name, policies, inputs] of [['public corpus', corpusPolicies, corpusInputs], ['synthetic', synth, synthInputs]] as const) {
    const mine = compilePolicies(policies);
    const old = theirs.compilePolicies(policies);
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < 16; r++) {
      // The side measured second runs with the caches the first one left: the order flips every round.
      let x: number;
      let y: number;
      if (r % 2 === 0) { x = cpuNs((e) => mine.decide(e, node), inputs); y = cpuNs((e) => old.decide(e, node), inputs); }
      else { y = cpuNs((e) => old.decide(e, node), inputs); x = cpuNs((e) => mine.decide(e, node), inputs); }
      if (r > 0) { a.push(x); b.push(y); } // round 0 warms both up
    }
    const ma = stats(a).median;
    const mb = stats(b).median;
    const ratios = a.map((x, i) => x / b[i]!).sort((p, q) => p - q);
    const q = (f: number): string => ratios[Math.floor((ratios.length - 1) * f)]!.toFixed(2);
    console.log(`| ${name} | ${fmt(ma)} | ${fmt(mb)} | ${(ma / mb).toFixed(2)}× | ${q(0.25)}–${q(0.75)} |`);
  }
  console.log('');
}

await main();
