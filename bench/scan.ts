// npm run bench:scan [-- --ports 1-65535 --min-rate 5000]
// The port-scan row of the benchmarks: the real agent (bin/armorwatch run, stdout exporter) while
// nmap makes a full-speed connect scan (nmap -sT) of a server network namespace over a veth pair
// (test/helpers/netns.ts; listeners on 22, 80, 443). Reports: whether the episode was detected
// (its ended record and counts), the agent's CPU seconds (node + its helper) per 10,000 connects,
// the scan's duration with and without the agent, every loss counter of the agent (kernel ring
// buffer, pending-slot, export, detector memory), which must be zero or counted, and the records the
// kernel delivered per 10,000 connects: for the scan, and for an honest client first (10,000
// connects round-robin to port 80 of 10 addresses: below the port-scan gate, docs/DETECTION.md).
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NetnsPair, serverScript, SERVER_IP, SWEEP_NET } from '../test/helpers/netns.ts';
import { freePort } from '../test/helpers/collector.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { ports: { type: 'string', default: '1-65535' }, 'min-rate': { type: 'string', default: '5000' } } });
const TICK = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function procCpu(p: number): number {
  const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / TICK;
}
function agentCpu(pid: number): number {
  let kids: number[] = [];
  try { kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { /* none */ }
  return procCpu(pid) + kids.reduce((s, k) => s + procCpu(k), 0);
}

async function nmap(net: NetnsPair): Promise<{ seconds: number; pid: number }> {
  const t0 = process.hrtime.bigint();
  const [cmd, ...args] = net.inClient(['nmap', '-sT', '-Pn', '-n', '--max-retries', '0', '--min-rate', values['min-rate'], '-p', values.ports, SERVER_IP]);
  const p = execFile(cmd!, args, { maxBuffer: 1 << 24 });
  const [code] = await once(p, 'exit') as [number | null];
  if (code !== 0) throw new Error(`nmap exited ${code}`);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, pid: p.pid! };
}

async function main(): Promise<void> {
  const net = new NetnsPair(`bs${process.pid % 10000}`);
  const dir = mkdtempSync(join(tmpdir(), 'aw-bench-scan-'));
  net.create();
  try {
    const srv = net.serve([process.execPath, '-e', serverScript([22, 80, 443])]);
    await once(srv.stdout!, 'data');
    const bare = await nmap(net);
    console.log(`no agent: nmap -sT -p ${values.ports} --min-rate ${values['min-rate']}: ${bare.seconds.toFixed(2)} s`);

    writeFileSync(join(dir, 'host.yaml'), `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata: { name: hsp-bench }
spec:
  nodeSelector: { matchLabels: { kubernetes.io/hostname: ${hostname()} } }
  file: { matchPaths: [ { path: /proc/net/tcp } ] }
  action: Audit
`);
    const health = await freePort();
    const agent = spawn(join(root, 'bin/armorwatch'), ['run', '--policies', dir, '--health-addr', `127.0.0.1:${health}`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ARMORWATCH_EXPORTER: 'stdout', ARMORWATCH_STATS_INTERVAL: '0', ARMORWATCH_SCAN_QUIET: '2s' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    agent.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    agent.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
    for (let i = 0; i < 300; i++) {
      try { if ((await fetch(`http://127.0.0.1:${health}/readyz`)).ok) break; } catch { /* not yet */ }
      await sleep(200);
    }
    // Settled after start-up, then its idle rate over 5 s (taken out of the scan's figure below).
    await sleep(5000);
    const idle0 = agentCpu(agent.pid!);
    const idleT0 = Date.now();
    await sleep(5000);
    const idlePerSec = (agentCpu(agent.pid!) - idle0) / ((Date.now() - idleT0) / 1000);
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${health}/metrics`)).text();
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
      return m === null ? 0 : Number(m[1]);
    };
    const delivered = (): Promise<number> => metric('armorwatch_monitor_events_delivered_total');
    const gated = (): Promise<number> => metric('armorwatch_monitor_events_gated_total');
    // The honest client: 10,000 connects to 10 targets, each completed and closed.
    const HONEST = 10_000;
    const d0 = await delivered();
    const g0 = await gated();
    const [hcmd, ...hargs] = net.inClient([process.execPath, '-e', `
const net = require('node:net'); const hosts = ${JSON.stringify(Array.from({ length: 10 }, (_, i) => `${SWEEP_NET}.${i + 1}`))};
(async () => { for (let i = 0; i < ${HONEST}; i++) await new Promise((ok, no) => {
  const c = net.connect(80, hosts[i % hosts.length], () => { c.destroy(); ok(); }); c.on('error', no); }); })().catch((e) => { console.error(e); process.exit(1); });`]);
    const honest = spawn(hcmd!, hargs, { stdio: 'inherit' });
    const [hcode] = await once(honest, 'exit') as [number | null];
    if (hcode !== 0) throw new Error(`the honest client exited ${hcode}`);
    await sleep(1000);
    const honestDelivered = (await delivered()) - d0;
    const honestGated = (await gated()) - g0;
    const d1 = await delivered();
    const cpu0 = agentCpu(agent.pid!);
    const t0 = Date.now();
    const scan = await nmap(net);
    // Until the episode ended (quiet gap): by then the agent has read and decided every event.
    for (let i = 0; i < 200 && !out.includes('"Phase":"ended"'); i++) await sleep(100);
    const spent = agentCpu(agent.pid!) - cpu0;
    const cpu = spent - idlePerSec * ((Date.now() - t0) / 1000);
    const scanDelivered = (await delivered()) - d1;
    agent.kill('SIGTERM');
    await once(agent, 'exit');
    const lines = out.split('\n').filter((l) => l.includes('"Type":"PortScan"')).map((l) => JSON.parse(l) as { Scan: { Phase: string; Attempts: number; DistinctPorts: number; Refused: number; Succeeded: number; Id: string } });
    const ended = lines.find((l) => l.Scan.Phase === 'ended');
    const stopped = err.split('\n').filter((l) => l.includes('"msg":"stopped"')).pop();
    const final = stopped === undefined ? {} : JSON.parse(stopped) as { monitor?: Record<string, unknown>; export?: unknown; scan?: unknown };
    const attempts = ended?.Scan.Attempts ?? 0;
    console.log(`agent: nmap took ${scan.seconds.toFixed(2)} s; records ${lines.map((l) => l.Scan.Phase).join(',')} (${new Set(lines.map((l) => l.Scan.Id)).size} episode)`);
    console.log(`episode: ${ended === undefined ? 'NOT DETECTED' : `attempts ${ended.Scan.Attempts}, distinct ports ${ended.Scan.DistinctPorts}, refused ${ended.Scan.Refused}, succeeded ${ended.Scan.Succeeded}`}`);
    console.log(`agent CPU: ${spent.toFixed(2)} s from the scan's start to its ended record, ${cpu.toFixed(2)} s without the idle rate (${idlePerSec.toFixed(3)} CPU-s/s) = ${attempts > 0 ? (cpu / attempts * 10_000).toFixed(3) : '?'} CPU-s per 10,000 connects (${attempts > 0 ? (spent / attempts * 10_000).toFixed(3) : '?'} with the idle rate)`);
    console.log(`records delivered by the kernel (every kind, the host's other activity included): honest client ${honestDelivered} for ${HONEST} connects = ${(honestDelivered / HONEST * 10_000).toFixed(0)} per 10,000 (${honestGated} held back by the gate); scan ${scanDelivered} for ${attempts} connects = ${attempts > 0 ? (scanDelivered / attempts * 10_000).toFixed(0) : '?'} per 10,000`);
    console.log(`losses: monitor ${JSON.stringify(final.monitor ?? {})}`);
    console.log(`        export ${JSON.stringify(final.export ?? {})}`);
    console.log(`        scan ${JSON.stringify(final.scan ?? {})}`);
    console.log(`machine: ${loadavg().map((x) => x.toFixed(2)).join(' ')} load average`);
  } finally {
    net.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
