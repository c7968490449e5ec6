// npm run bench:monitor [-- --count N]
// One open/close loop (build/openloop) measured side by side in one run:
//   no agent | opensnoop (libbpf-tools) | armorwatch trace | armorwatch with a 100-rule kernel filter
//   that never matches | the floor (build/armorwatch-monitor-floor: the same hooks, programs that
//   return at once) | armorwatch trace with the loop paced at opensnoop's delivered rate.
// Prints CPU-time ratios against no-agent runs made at the same moment, and delivered/lost events
// per second for the tracers. Options: --count N (opens per run), --reps N, --cycles N.
// --helpers A,B[,C...]: only the filtered row, for builds of the helper side by side (an old and a new
// build/armorwatch-monitor, and build/armorwatch-monitor-floor: the same hooks with empty programs;
// a build in another checkout, CHECKOUT/build/armorwatch-monitor, is driven by CHECKOUT/src/monitor,
// which speaks its command protocol):
// each cycle runs the loop under each helper in turn (the order swapped every cycle), with a no-agent
// run before and after each; per helper the median ratio and BPF ns per open.
// --rename-storm (with --helpers): another process renames a file back and forth in a loop while
// each helper's loop runs (build/renameloop), as a busy host renaming temporary files does; every
// rename changes the kernel's path generation, so this shows what cached verdicts cost then.
// BPF ns per open (filtered row, --helpers): the run time ÷ runs of the openat programs our helper
// loaded (their ids fixed once it attached, so another agent loaded later on the machine does not
// count), over every openat on the machine while the loop ran: the opens of other processes are
// in it, and their number is printed beside it.
// --exec: the exec row alone. A fork+exec loop of a tiny static program (build/execloop running
// build/exectiny) with no agent, with armorwatch holding 100 process rules that never match (and
// 100 such file rules), and with the floor build (the same hooks, empty programs); interleaved in
// each cycle with no-agent runs around each; per configuration the median ratio and BPF ns per exec
// (in all and by program). With --helpers A,B[,C...]: those builds of the helper side by side instead.
// Each agent also runs an alternating loop (four copies of the program, one after the other: what a
// shell script calling several tools does), reported as its own BPF ns per exec. The BPF figures
// count only the programs our helper loaded (their ids fixed once it attached).
// --exec-count N: iterations per exec run (default 3000).
// --connect: the connect row alone. A socket+connect+close loop to a listener on 127.0.0.1
// (build/connectloop) with no agent, with armorwatch holding a network need that the loop does not
// match (connect and socket, UDP only: the loop is TCP) on the hooks it picks (the root cgroup's
// when the kernel allows) and forced onto the per-syscall hooks (--net-hook syscalls), with port-scan
// detection alone, and with the floor build (empty programs on the hooks the helper picks);
// interleaved as the exec row; per configuration the median ratio and BPF ns per connect (the time
// of the helper's own network programs, by the ids it reports, during the run ÷ connects; the
// accepting thread's and the state changes' time included). --connect-count N: connects per run
// (default 20000).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openMonitor } from '../src/monitor/index.ts';
import { silentLogger } from '../src/log.ts';
import { RING_BUFFER_DEFAULT } from '../src/config/parse.ts';
import { SCAN_DEFAULTS } from '../src/config/scan.ts';
import { hostNetNs, withScanNeeds } from '../src/detect/filter.ts';
import type { KernelFilterSpec } from '../src/types.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const BUILT_LOOP = join(root, 'build/openloop');
// A private copy under its own name: its comm is what the tracers filter on, and other users of
// build/openloop on this machine must not show up in the counts.
let OPENLOOP = BUILT_LOOP;
const COMM = 'awbench-loop';
const BIN = join(root, 'bin/armorwatch');
const FLOOR = join(root, 'build/armorwatch-monitor-floor');
const { values } = parseArgs({ options: { count: { type: 'string', default: '300000' }, reps: { type: 'string', default: '3' }, cycles: { type: 'string', default: '7' }, helpers: { type: 'string' }, 'rename-storm': { type: 'boolean' }, exec: { type: 'boolean' }, 'exec-count': { type: 'string', default: '3000' }, connect: { type: 'boolean' }, 'connect-count': { type: 'string', default: '20000' } } });
const COUNT = Number(values.count);
const REPS = Number(values.reps);

/** nsPerOp is CPU time (user + system, BPF programs included); wallNsPerOp is elapsed time. */
interface Loop { nsPerOp: number; wallNsPerOp: number; elapsedNs: number; count: number }

// Asynchronous on purpose: the bench must keep reading the tracers' output while the loop runs,
// or their pipes fill and the measurement becomes one of this script.
async function loop(file: string, rate?: number): Promise<Loop> {
  const args = [file, String(COUNT)];
  if (rate !== undefined) args.push(String(Math.floor(rate)));
  const p = spawn(OPENLOOP, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  p.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const [code] = await once(p, 'exit') as [number | null];
  if (code !== 0) throw new Error(`openloop failed: ${err}`);
  return JSON.parse(out) as Loop;
}

function median(runs: Loop[]): Loop {
  return [...runs].sort((a, b) => a.nsPerOp - b.nsPerOp)[Math.floor(runs.length / 2)]!;
}

/** Median of REPS loops, by CPU ns/op. */
async function loops(file: string, rate?: number): Promise<Loop> {
  const runs: Loop[] = [];
  for (let i = 0; i < REPS; i++) runs.push(await loop(file, rate));
  return median(runs);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function opensnoopPath(): string {
  if (existsSync('/usr/sbin/opensnoop')) return '/usr/sbin/opensnoop';
  const listed = spawnSync('dpkg', ['-L', 'libbpf-tools'], { encoding: 'utf8' }).stdout.split('\n').find((l) => l.endsWith('/opensnoop'));
  if (listed === undefined) throw new Error('opensnoop not found: apt-get install libbpf-tools');
  return listed;
}

/** opensnoop needs tracefs; mounted if it is not (and left mounted, as the monitor helper does). */
function ensureTracefs(): void {
  if (existsSync('/sys/kernel/tracing/events') && readdirSync('/sys/kernel/tracing/events').length > 0) return;
  execFileSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing']);
}

interface Traced { loop: Loop; delivered: number; lost: number }

/** Attached: the process holds at least two BPF links or perf events (enter and exit programs). */
function attached(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try { return /bpf_link|perf_event/.test(readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch { return false; }
    }).length >= 2;
  } catch {
    return false;
  }
}

/** Counts lines naming the loop's comm from a tracer's stdout while the loop runs REPS times. */
async function traced(cmd: string, args: string[], readyOn: RegExp | 'attached', file: string, rate: number | undefined, lostFrom: (stderr: string) => number): Promise<Traced> {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ARMORWATCH_LOG_LEVEL: 'info' } });
  // Lines are counted as newline bytes, without decoding: the tracers filter on the loop's comm,
  // so every line but opensnoop's header is one event, and the counting must not be the bottleneck.
  let lines = 0;
  let err = '';
  let out = '';
  p.stdout.on('data', (b: Buffer) => {
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
    if (out.length < 4096) out += b.toString('utf8', 0, Math.min(b.length, 4096));
  });
  p.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const start = Date.now();
  while (readyOn === 'attached' ? !attached(p.pid!) : !readyOn.test(err + out)) {
    if (Date.now() - start > 20000) throw new Error(`${cmd} did not start:\n${err}`);
    await sleep(50);
  }
  await sleep(300);
  const before = lines;
  const runs: Loop[] = [];
  for (let i = 0; i < REPS; i++) runs.push(await loop(file, rate));
  // Let the tracer drain what it holds, then stop it.
  let last = -1;
  while (last !== lines) { last = lines; await sleep(500); }
  p.kill('SIGINT');
  await once(p, 'exit');
  const total = runs.reduce((a, r) => a + r.elapsedNs, 0);
  const med = median(runs);
  return { loop: { ...med, elapsedNs: total, count: COUNT * REPS }, delivered: lines - before, lost: lostFrom(err) };
}

const CYCLES = Number(values.cycles);

interface Prog { id: number; name: string; type: string; run_time_ns?: number; run_cnt?: number }

/**
 * BPF programs of tracing kinds loaded on the machine now (anyone's: other agents, tracers). With
 * `loadedBefore` (ids listed before the helper under test started), only those still loaded count:
 * builds differ in how many programs they load, so ours are told apart by when they appeared.
 */
function tracingPrograms(loadedBefore?: Set<number>): number {
  const r = spawnSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' });
  if (r.status !== 0) return NaN;
  const progs = JSON.parse(r.stdout) as Prog[];
  return progs.filter((p) => /tracepoint|tracing|kprobe|perf_event|lsm/.test(p.type) && (loadedBefore === undefined || loadedBefore.has(p.id))).length;
}
function programs(): Prog[] {
  const r = spawnSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' });
  return r.status === 0 ? JSON.parse(r.stdout) as Prog[] : [];
}

/** Total [run time, runs] of the openat enter (if any: newer builds have none) and exit programs in `ours`. */
function openatRunTime(ours: Set<number>): [number, number] {
  const [enter, exit, runs] = openatSplit(ours);
  return [enter + exit, runs];
}

/**
 * The ids of the programs that appeared while our helper started (`before`: the ids listed just
 * before). Fixed once attached: a program another agent loads later on this machine (another
 * benchmark's helper on the same openat hook) must not add its time and runs to ours.
 */
function ourPrograms(before: Set<number>): Set<number> {
  return new Set(programs().filter((p) => !before.has(p.id)).map((p) => p.id));
}

/**
 * The filtered monitor's cost, in pairs: a no-agent run, then attach, a run, detach; CYCLES times.
 * The ratio of each adjacent pair is taken and the median reported, so load from other work on the
 * machine, which drifts over seconds, cancels out of each pair.
 */
async function filtered(file: string, helperPath?: string): Promise<{ loop: Loop; base: Loop; ratio: number; ratios: number[]; clean: number[]; bpfNsPerOpen: number; otherOpens: number; delivered: number; lost: number }> {
  let delivered = 0;
  const bpfNs: number[] = [];
  const otherOpens: number[] = [];
  let lost = 0;
  const exactPaths = Array.from({ length: 100 }, (_, i) => `/var/lib/armorwatch-bench/rule-${i}`);
  const pairs: Array<{ base: Loop; loop: Loop; clean: boolean }> = [];
  for (let i = 0; i < CYCLES; i++) {
    // A pair is clean when no one else had tracing programs loaded around it: another agent
    // attached during one run of the pair and not the other would decide its ratio.
    const foreignBefore = tracingPrograms();
    const base = await loop(file);
    const before = new Set(programs().map((p) => p.id));
    const m = await openMonitor({
      logger: silentLogger, ringbufBytes: RING_BUFFER_DEFAULT,
      ...(helperPath === undefined ? {} : { helperPath }),
      pathFilter: { passAll: false, exactPaths, dirPrefixes: [] },
      processFilter: { pids: [], comms: [], excludePids: [] },
      onEvent: (e) => { if (e.comm === COMM) delivered++; },
    });
    const ours = ourPrograms(before);
    const [ns0, runs0] = openatRunTime(ours);
    const l = await loop(file);
    const [ns1, runs1] = openatRunTime(ours);
    if (runs1 > runs0) bpfNs.push((ns1 - ns0) / (runs1 - runs0));
    otherOpens.push(Math.max(0, runs1 - runs0 - COUNT));
    const foreignDuring = tracingPrograms(before);
    lost += (await m.refreshStats()).lostInKernel;
    await m.close();
    pairs.push({ base, loop: l, clean: foreignBefore === 0 && foreignDuring === 0 });
  }
  const ratioOf = (p: { base: Loop; loop: Loop }): number => p.loop.nsPerOp / p.base.nsPerOp;
  const ratios = pairs.map(ratioOf).sort((x, y) => x - y);
  const clean = pairs.filter((p) => p.clean).map(ratioOf).sort((x, y) => x - y);
  const use = clean.length > 0 ? clean : ratios;
  return {
    loop: median(pairs.map((p) => p.loop)), base: median(pairs.map((p) => p.base)),
    ratio: use[Math.floor(use.length / 2)]!, ratios, clean, delivered, lost,
    bpfNsPerOpen: bpfNs.sort((x, y) => x - y)[Math.floor(bpfNs.length / 2)] ?? NaN,
    otherOpens: otherOpens.sort((x, y) => x - y)[Math.floor(otherOpens.length / 2)] ?? NaN,
  };
}

/** [run time of the openat enter program, of the exit program, runs of the exit program] for the programs in `ours`. */
function openatSplit(ours: Set<number>): [number, number, number] {
  const r: [number, number, number] = [0, 0, 0];
  for (const p of programs()) {
    if (!ours.has(p.id)) continue;
    if (p.name === 'aw_tp_enter_openat') r[0] += p.run_time_ns ?? 0;
    if (p.name === 'aw_tp_exit_openat') { r[1] += p.run_time_ns ?? 0; r[2] += p.run_cnt ?? 0; }
  }
  return r;
}

/**
 * The client that speaks a helper build's command protocol: its own checkout's src/monitor when
 * the build sits in another checkout (CHECKOUT/build/armorwatch-monitor), else this one's. The
 * protocol changed over time (the filter commands); every checkout's client takes the same
 * options, so each build runs the same workload under the same filter.
 */
async function clientFor(helper: string): Promise<typeof openMonitor> {
  const own = join(dirname(dirname(resolve(helper))), 'src/monitor/index.ts');
  if (!existsSync(own) || own === join(root, 'src/monitor/index.ts')) return openMonitor;
  return (await import(pathToFileURL(own).href) as { openMonitor: typeof openMonitor }).openMonitor;
}

/** The filtered row for several helper builds, interleaved in each cycle (see --helpers). */
async function compareHelpers(file: string, helpers: string[]): Promise<string> {
  const clients = await Promise.all(helpers.map(clientFor));
  const exactPaths = Array.from({ length: 100 }, (_, i) => `/var/lib/armorwatch-bench/rule-${i}`);
  const ratios: number[][] = helpers.map(() => []);
  const bpfNs: number[][] = helpers.map(() => []);
  const split: Array<Array<[number, number]>> = helpers.map(() => []);
  const others: number[][] = helpers.map(() => []);
  const foreign: number[] = [];
  for (let i = 0; i < CYCLES; i++) {
    // No-agent runs before and after each helper's run: its ratio is against their mean, so a
    // change of load in the middle of a cycle weighs on that helper less.
    let base = await loop(file);
    const order = helpers.map((_, j) => j);
    if (i % 2 === 1) order.reverse();
    for (const j of order) {
      const before = new Set(programs().map((p) => p.id));
      const m = await clients[j]!({
        logger: silentLogger, ringbufBytes: RING_BUFFER_DEFAULT, helperPath: helpers[j]!,
        pathFilter: { passAll: false, exactPaths, dirPrefixes: [] },
        processFilter: { pids: [], comms: [], excludePids: [] },
        onEvent: () => {},
      });
      const ours = ourPrograms(before);
      const storm = values['rename-storm'] === true ? spawn(RENAMELOOP, [dirname(file)], { stdio: 'ignore' }) : null;
      if (storm !== null) await sleep(100);
      const [en0, ex0, runs0] = openatSplit(ours);
      const l = await loop(file);
      const [en1, ex1, runs1] = openatSplit(ours);
      if (storm !== null) { storm.kill(); await once(storm, 'exit'); }
      others[j]!.push(Math.max(0, runs1 - runs0 - COUNT));
      foreign.push(tracingPrograms(before));
      await m.close();
      const after = await loop(file);
      ratios[j]!.push(l.nsPerOp / ((base.nsPerOp + after.nsPerOp) / 2));
      base = after;
      const n = runs1 - runs0;
      if (n > 0) {
        bpfNs[j]!.push((en1 - en0 + ex1 - ex0) / n);
        split[j]!.push([(en1 - en0) / n, (ex1 - ex0) / n]);
      }
    }
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const lines = [`count=${COUNT} per run, ${CYCLES} cycles${values['rename-storm'] === true ? '; a rename storm (build/renameloop) during every run' : ''}; foreign tracing programs seen during runs: max ${Math.max(...foreign)}`, '',
    '| helper | median × no agent | pair ratios (run order) | median BPF ns per open (enter + exit) | BPF ns per open, enter+exit (run order) |', '|---|---:|---|---:|---|'];
  helpers.forEach((h, j) => lines.push(`| ${h} | ${med(ratios[j]!).toFixed(2)} | ${ratios[j]!.map((x) => x.toFixed(2)).join(' ')} | ${med(bpfNs[j]!).toFixed(0)} (${med(split[j]!.map((x) => x[0])).toFixed(0)} + ${med(split[j]!.map((x) => x[1])).toFixed(0)}) | ${split[j]!.map((x) => `${x[0].toFixed(0)}+${x[1].toFixed(0)}`).join(' ')} |`));
  // Same-cycle ratios cancel the load drift that moves both helpers' kernel times together.
  if (helpers.length === 2 && bpfNs[0]!.length === bpfNs[1]!.length) {
    const per = bpfNs[1]!.map((x, i) => x / bpfNs[0]![i]!);
    const exits = split[1]!.map((x, i) => x[1] / split[0]![i]![1]);
    lines.push('', `second ÷ first, same cycle: BPF ns per open median ${med(per).toFixed(2)} (${per.map((x) => x.toFixed(2)).join(' ')}); exit program alone median ${med(exits).toFixed(2)}`);
  }
  lines.push(`opens of other processes in the BPF figure (each run's runs beyond the loop's ${COUNT}), median per helper: ${helpers.map((_, j) => med(others[j]!).toFixed(0)).join(', ')}`);
  return lines.join('\n');
}

const RENAMELOOP = join(root, 'build/renameloop');
const EXECLOOP = join(root, 'build/execloop');
const EXECTINY = join(root, 'build/exectiny');
// The programs on the exec path: the exec hook (whichever was chosen; aw_xbtf_prep is the
// sched_prepare_exec hook of the build measured in BENCHMARKS.md "execperf2", commit 65c37f7, which
// attaches no execve entry), execve's entry and exit, and the failed-exec builder they tail-call.
const EXEC_PROGRAMS = /^aw_(x(btf|raw|tp)_(exec|prep)|tp_enter_execve|tp_exit_execve|tpb_exec)$/;
const EXEC_HOOK_PROGRAM = /^aw_x(btf|raw|tp)_(exec|prep)$/;

async function execLoop(count: number, programs: string[] = [EXECTINY]): Promise<Loop> {
  const p = spawn(EXECLOOP, [programs[0]!, String(count), ...programs.slice(1)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  p.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const [code] = await once(p, 'exit') as [number | null];
  if (code !== 0) throw new Error(`execloop failed: ${err}`);
  return JSON.parse(out) as Loop;
}

/** [run time of each exec-path program in `ours`, by name; runs of the exec hook]. */
function execRunTime(ours: Set<number>): [Map<string, number>, number] {
  const ns = new Map<string, number>();
  let runs = 0;
  for (const p of programs()) {
    if (!ours.has(p.id) || !EXEC_PROGRAMS.test(p.name)) continue;
    ns.set(p.name, (ns.get(p.name) ?? 0) + (p.run_time_ns ?? 0));
    if (EXEC_HOOK_PROGRAM.test(p.name)) runs += p.run_cnt ?? 0;
  }
  return [ns, runs];
}

/** Adds the BPF ns per exec between two readings of execRunTime: by program to `byProgram`, in all to `total`. */
function perExecTime([ns0, runs0]: [Map<string, number>, number], [ns1, runs1]: [Map<string, number>, number], byProgram: Map<string, number[]>, total: number[]): void {
  if (runs1 <= runs0) return;
  let sum = 0;
  for (const [name, t1] of ns1) {
    const per = (t1 - (ns0.get(name) ?? 0)) / (runs1 - runs0);
    sum += per;
    byProgram.set(name, [...byProgram.get(name) ?? [], per]);
  }
  total.push(sum);
}

/** The exec row: no agent, armorwatch with 100 non-matching process rules, the floor (see --exec). */
async function execRow(): Promise<string> {
  const count = Number(values['exec-count']);
  const ruleFiles = Array.from({ length: 100 }, (_, i) => `/var/lib/armorwatch-bench/rule-${i}`);
  const ruleExecs = Array.from({ length: 100 }, (_, i) => `/opt/armorwatch-bench/bin/rule-${i}`);
  // --helpers: builds of the helper side by side instead (an old and a new build, the floor).
  const builds = values.helpers === undefined
    ? [{ name: 'armorwatch, 100 process rules, none matching', helper: undefined as string | undefined }, { name: 'floor: the same hooks, empty programs', helper: FLOOR }]
    : values.helpers.split(',').map((h) => ({ name: h, helper: h as string | undefined }));
  const ratios: number[][] = builds.map(() => []);
  const perExec: number[][] = builds.map(() => []);
  const bpfNs: number[][] = builds.map(() => []);
  const perProgram: Map<string, number[]>[] = builds.map(() => new Map());
  const altNs: number[][] = builds.map(() => []);
  const altPerProgram: Map<string, number[]>[] = builds.map(() => new Map());
  // The alternating loop's programs: build/exectiny and three copies of it (other files, other paths).
  const altDir = mkdtempSync(join(tmpdir(), 'awbench-exec-'));
  const altPrograms = [EXECTINY, ...['b', 'c', 'd'].map((x) => { const f = join(altDir, `exectiny-${x}`); copyFileSync(EXECTINY, f); chmodSync(f, 0o755); return f; })];
  const tiny = new Set(altPrograms);
  const bases: number[] = [];
  let delivered = 0;
  let filteredExec = 0;
  let execHook = '';
  for (let i = 0; i < CYCLES; i++) {
    let base = await execLoop(count);
    bases.push(base.nsPerOp);
    const order = builds.map((_, j) => j);
    if (i % 2 === 1) order.reverse();
    for (const j of order) {
      const before = new Set(programs().map((p) => p.id));
      const m = await openMonitor({
        logger: silentLogger, ringbufBytes: RING_BUFFER_DEFAULT, ...(builds[j]!.helper === undefined ? {} : { helperPath: builds[j]!.helper }),
        pathFilter: { passAll: false, exactPaths: ruleFiles, dirPrefixes: [], exec: { passAll: false, paths: ruleExecs, dirs: [], names: [] } },
        processFilter: { pids: [], comms: [], excludePids: [] },
        onEvent: () => {},
        onExec: (e) => { if (tiny.has(e.resolvedPath ?? '')) delivered++; },
      });
      const ours = ourPrograms(before);
      const [ns0, runs0] = execRunTime(ours);
      const l = await execLoop(count);
      const [ns1, runs1] = execRunTime(ours);
      await execLoop(count, altPrograms);
      const [ns2, runs2] = execRunTime(ours);
      const st = await m.refreshStats();
      if (j === 0) { filteredExec += st.filteredExecInKernel; execHook = st.execHook; }
      await m.close();
      const after = await execLoop(count);
      bases.push(after.nsPerOp);
      ratios[j]!.push(l.nsPerOp / ((base.nsPerOp + after.nsPerOp) / 2));
      perExec[j]!.push(l.nsPerOp);
      perExecTime([ns0, runs0], [ns1, runs1], perProgram[j]!, bpfNs[j]!);
      perExecTime([ns1, runs1], [ns2, runs2], altPerProgram[j]!, altNs[j]!);
      base = after;
    }
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const lines = [`fork+exec of build/exectiny, ${count} per run, ${CYCLES} cycles; exec hook ${execHook}; kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}`, '',
    '| row | CPU ns per fork+exec (median) | × no agent (median of pairs) | pair ratios (run order) | BPF ns per exec (median) | BPF ns per exec, 4 programs alternating (median) |', '|---|---:|---:|---|---:|---:|',
    `| no agent | ${med(bases).toFixed(0)} | 1.00 | – | – | – |`];
  builds.forEach((b, j) => lines.push(`| ${b.name} | ${med(perExec[j]!).toFixed(0)} | ${med(ratios[j]!).toFixed(3)} | ${ratios[j]!.map((x) => x.toFixed(3)).join(' ')} | ${med(bpfNs[j]!).toFixed(0)} | ${med(altNs[j]!).toFixed(0)} |`));
  if (builds.length >= 2) {
    const [first, second] = values.helpers === undefined ? ['armorwatch', 'floor'] : ['first', 'second'];
    lines.push('', `${first} ÷ ${second}, CPU per fork+exec: ${(med(perExec[0]!) / med(perExec[1]!)).toFixed(3)}; BPF ns per exec: ${(med(bpfNs[0]!) / med(bpfNs[1]!)).toFixed(2)}; above no agent: ${first} ${(med(perExec[0]!) - med(bases)).toFixed(0)} ns, ${second} ${(med(perExec[1]!) - med(bases)).toFixed(0)} ns`);
  }
  lines.push(`executions of the rule-less programs delivered: ${delivered} (expected 0); executions filtered in the kernel: ${filteredExec}`);
  builds.forEach((b, j) => lines.push(`BPF ns per exec by program (median), ${b.name}: ${[...perProgram[j]!].map(([n, xs]) => `${n} ${med(xs).toFixed(0)}`).join(', ')}`));
  builds.forEach((b, j) => lines.push(`BPF ns per exec by program, alternating (median), ${b.name}: ${[...altPerProgram[j]!].map(([n, xs]) => `${n} ${med(xs).toFixed(0)}`).join(', ')}`));
  rmSync(altDir, { recursive: true, force: true });
  return lines.join('\n');
}

const CONNECTLOOP = join(root, 'build/connectloop');

async function connectLoop(count: number, port: number): Promise<Loop> {
  const p = spawn(CONNECTLOOP, [String(port), String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  p.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const [code] = await once(p, 'exit') as [number | null];
  if (code !== 0) throw new Error(`connectloop failed: ${err}`);
  return JSON.parse(out) as Loop;
}

// The programs on the connect path (names as bpftool shows them, cut to 15 bytes): the root
// cgroup's socket/connect/release hooks, the per-syscall network calls' entry and exits of the
// syscall_tracepoints family (the builder they tail-call is accounted to them) and the outcome hook.
// With tp_btf or raw_tracepoint the shared sys_enter/sys_exit programs also run for everyone else's
// calls, so their time is not the connect's alone: not counted.
const CONNECT_PROGRAMS = /^aw_cg_|^aw_tp_(enter|exit)_(sock|conn|con|acce|bind|list)|^aw_n(btf|raw|tp)_sta/;

/** Total run time of the connect-path programs among `ours` (the helper's own, from its READY). */
function connectRunTime(ours: ReadonlySet<number>): number {
  let ns = 0;
  for (const p of programs()) if (ours.has(p.id) && CONNECT_PROGRAMS.test(p.name)) ns += p.run_time_ns ?? 0;
  return ns;
}

/** The connect row: no agent, armorwatch with a network need the loop does not match, the floor (see --connect). */
async function connectRow(): Promise<string> {
  const count = Number(values['connect-count']);
  if (!existsSync(CONNECTLOOP)) throw new Error(`${CONNECTLOOP} is not built: run make -C native`);
  const udpOnly: KernelFilterSpec = { passAll: false, exactPaths: [], dirPrefixes: [], network: { passAll: false, calls: ['connect', 'socket'], protocols: [17] } };
  // Port-scan detection alone (the default, with no network rule): TCP connects pass to the kernel's
  // gate, which holds this loop's one target back (a fresh monitor per run: nothing from earlier
  // runs is in its sketch). Not with udpOnly's need: the kernel's protocol set is shared by the
  // calls, so detection's TCP would let the loop's socket() calls through as well.
  const gated = withScanNeeds({ passAll: false, exactPaths: [], dirPrefixes: [] }, SCAN_DEFAULTS, hostNetNs());
  const builds = [
    { name: 'armorwatch, network need not matching (connect+socket, UDP only)', helper: undefined as string | undefined, filter: udpOnly, netHook: 'auto' as const },
    { name: 'floor: the same hooks, empty programs', helper: FLOOR, filter: udpOnly, netHook: 'auto' as const },
    { name: 'armorwatch, no network rule, port-scan detection on (the gate holds every connect back)', helper: undefined, filter: gated, netHook: 'auto' as const },
    { name: 'armorwatch, the same need on the per-syscall hooks (--net-hook syscalls)', helper: undefined, filter: udpOnly, netHook: 'syscalls' as const },
  ];
  const ratios: number[][] = builds.map(() => []);
  const perOp: number[][] = builds.map(() => []);
  const bpfNs: number[][] = builds.map(() => []);
  const bases: number[] = [];
  let delivered = 0;
  let filteredNet = 0;
  let gatedNet = 0;
  let hooks = '';
  let port = 20000 + (process.pid % 20000);
  for (let i = 0; i < CYCLES; i++) {
    let base = await connectLoop(count, port++);
    bases.push(base.nsPerOp);
    const order = i % 2 === 0 ? [0, 1, 2, 3] : [3, 2, 1, 0];
    for (const j of order) {
      const m = await openMonitor({
        logger: silentLogger, ringbufBytes: RING_BUFFER_DEFAULT, ...(builds[j]!.helper === undefined ? {} : { helperPath: builds[j]!.helper }),
        pathFilter: builds[j]!.filter, netHook: builds[j]!.netHook,
        processFilter: { pids: [], comms: [], excludePids: [] },
        onEvent: () => {},
        onNetwork: (e) => { if (e.comm === 'connectloop' || e.phase === 'handover') delivered++; },
      });
      const ours = new Set((await m.refreshStats()).programIds ?? []);
      if (ours.size === 0) throw new Error(`${builds[j]!.helper ?? 'the helper'} does not list its programs (an older build?)`);
      const ns0 = connectRunTime(ours);
      const l = await connectLoop(count, port++);
      const ns1 = connectRunTime(ours);
      const st = await m.refreshStats();
      if (j === 2) gatedNet += st.gatedNetInKernel;
      if (j === 0) { filteredNet += st.filteredNetInKernel; hooks = `hook ${st.hook}, socket/connect hook ${st.netHook ?? '?'}${st.netHookProblem ? ` (${st.netHookProblem})` : ''}, connect outcome hook ${st.outcomeHook} (attached: ${st.outcomeAttached})`; }
      await m.close();
      const after = await connectLoop(count, port++);
      bases.push(after.nsPerOp);
      ratios[j]!.push(l.nsPerOp / ((base.nsPerOp + after.nsPerOp) / 2));
      perOp[j]!.push(l.nsPerOp);
      bpfNs[j]!.push((ns1 - ns0) / count);
      base = after;
    }
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const lines = [`socket+connect+close to 127.0.0.1 (build/connectloop), ${count} per run, ${CYCLES} cycles; ${hooks}; kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}`, '',
    '| row | CPU ns per socket+connect+close (median) | × no agent (median of pairs) | pair ratios (run order) | BPF ns per connect (median) |', '|---|---:|---:|---|---:|',
    `| no agent | ${med(bases).toFixed(0)} | 1.00 | – | – |`];
  builds.forEach((b, j) => lines.push(`| ${b.name} | ${med(perOp[j]!).toFixed(0)} | ${med(ratios[j]!).toFixed(3)} | ${ratios[j]!.map((x) => x.toFixed(3)).join(' ')} | ${med(bpfNs[j]!).toFixed(0)} |`));
  lines.push('', `armorwatch ÷ floor, CPU per connect: ${(med(perOp[0]!) / med(perOp[1]!)).toFixed(3)}; per-syscall hooks ÷ cgroup hooks: ${(med(perOp[3]!) / med(perOp[0]!)).toFixed(3)}`);
  lines.push(`armorwatch with the gate ÷ floor, CPU per connect: ${(med(perOp[2]!) / med(perOp[1]!)).toFixed(3)}; BPF ns per connect above the row without detection: ${(med(bpfNs[2]!) - med(bpfNs[0]!)).toFixed(0)}`);
  lines.push(`network events of the loop delivered: ${delivered} (expected 0); network calls filtered in the kernel: ${filteredNet}; connects held back by the gate: ${gatedNet} (expected ${CYCLES * count})`);
  return lines.join('\n');
}

interface Row { name: string; loop: Loop; base: Loop; ratio?: number; delivered: number | null; lost: number | null }

/** A measured row with no-agent runs right before and after it, against which its ratio is taken. */
async function row(name: string, file: string, measure: () => Promise<{ loop: Loop; delivered: number | null; lost: number | null }>): Promise<Row> {
  const before = await loops(file);
  const m = await measure();
  const after = await loops(file);
  const base = { ...before, nsPerOp: (before.nsPerOp + after.nsPerOp) / 2, wallNsPerOp: (before.wallNsPerOp + after.wallNsPerOp) / 2 };
  return { name, base, ...m };
}

async function main(): Promise<void> {
  if (!existsSync(BUILT_LOOP)) throw new Error(`${BUILT_LOOP} is not built: run make -C native`);
  const dir = mkdtempSync(join(tmpdir(), 'aw-bench-'));
  OPENLOOP = join(dir, COMM);
  copyFileSync(BUILT_LOOP, OPENLOOP);
  const file = join(dir, 'target');
  writeFileSync(file, 'x');
  ensureTracefs();
  if (values.exec === true) {
    const statsWas = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
    try {
      process.stdout.write(`${await execRow()}\n`);
    } finally {
      writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsWas);
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  if (values.connect === true) {
    const statsWas = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
    try {
      process.stdout.write(`${await connectRow()}\n`);
    } finally {
      writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsWas);
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  if (values.helpers !== undefined) {
    const statsWas = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
    try {
      process.stdout.write(`${await compareHelpers(file, values.helpers.split(','))}\n`);
    } finally {
      writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsWas);
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  const lostFromTrace = (e: string): number => Number(/(\d+) lost in the kernel/.exec(e)?.[1] ?? NaN);
  try {
    const rows: Row[] = [];
    rows.push(await row('no agent (noise check: the same loop again)', file, async () => ({ loop: await loops(file), delivered: null, lost: null })));
    let snoopRate = 0;
    rows.push(await row('opensnoop (libbpf-tools)', file, async () => {
      const r = await traced(opensnoopPath(), ['-n', COMM], 'attached', file, undefined,
        (e) => [...e.matchAll(/[Ll]ost (\d+) events/g)].reduce((a, m) => a + Number(m[1]), 0));
      snoopRate = r.delivered / (r.loop.elapsedNs / 1e9);
      return r;
    }));
    rows.push(await row('armorwatch trace', file, () => traced(BIN, ['trace', '--comm', COMM], /file monitor attached/, file, undefined, lostFromTrace)));
    // The kernel's own accounting of time spent in BPF programs: free of scheduling noise.
    const statsWas = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
    const pairsOf = (f: { clean: number[] }): string => `median of ${f.clean.length > 0 ? `${f.clean.length} clean` : `${CYCLES}`} attach/detach pairs`;
    const f = await filtered(file).finally(() => writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsWas));
    rows.push({ name: `armorwatch, 100 exact rules, none matching (${pairsOf(f)})`, ...f });
    // The floor: the same hooks with programs that return at once (native/Makefile builds it).
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
    const floor = existsSync(FLOOR) ? await filtered(file, FLOOR).finally(() => writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsWas)) : null;
    if (floor !== null) rows.push({ name: `floor: the same hooks, empty programs (${pairsOf(floor)})`, ...floor });
    rows.push(await row(`armorwatch trace, loop paced at opensnoop's ${Math.round(snoopRate)}/s`, file,
      () => traced(BIN, ['trace', '--comm', COMM], /file monitor attached/, file, snoopRate, lostFromTrace)));

    const out = [
      `count=${COUNT} per run, ${REPS} runs per row (median by CPU ns/op); each row's ratio is against no-agent runs made right before and after it; kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}`,
      '',
      '| row | CPU ns per open+close | no-agent CPU ns (same moment) | × no agent | wall ns per op | events delivered | delivered/s | lost |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => {
        const secs = r.loop.elapsedNs / 1e9;
        const d = r.delivered;
        return `| ${r.name} | ${r.loop.nsPerOp.toFixed(0)} | ${r.base.nsPerOp.toFixed(0)} | ${(r.ratio ?? r.loop.nsPerOp / r.base.nsPerOp).toFixed(2)} | ${r.loop.wallNsPerOp.toFixed(0)} | ${d ?? '–'} | ${d === null ? '–' : Math.round(d / secs)} | ${r.lost ?? '–'} |`;
      }),
    ];
    out.push('', `filtered: time in the openat enter+exit programs per open (kernel.bpf_stats_enabled, median of cycles): ${f.bpfNsPerOpen.toFixed(0)} ns; opens of other processes among the runs: median ${f.otherOpens.toFixed(0)} per run of ${COUNT}`);
    out.push(`filtered pair ratios, sorted: all ${f.ratios.map((x) => x.toFixed(2)).join(' ')}; clean (no other tracing programs loaded) ${f.clean.map((x) => x.toFixed(2)).join(' ') || 'none'}`);
    if (floor !== null) {
      out.push(`floor: time in the (empty) openat programs per open: ${floor.bpfNsPerOpen.toFixed(0)} ns; pair ratios, sorted: all ${floor.ratios.map((x) => x.toFixed(2)).join(' ')}; clean ${floor.clean.map((x) => x.toFixed(2)).join(' ') || 'none'}`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
