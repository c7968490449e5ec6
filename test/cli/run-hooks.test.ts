// `armorwatch run` with the real eBPF monitor: the kernel hooks follow the loaded policies. A
// syscall rule on connect attaches the network hooks alone and raises Operation Syscall alerts
// from real connects, while a call armorwatch does not observe (ptrace) is reported in the health
// detail and /metrics; removing the policy detaches every hook, a file policy attaches the file
// hooks alone, and the syscall policy put back alerts again.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { needsBpf } from '../helpers/privileges.ts';
import { hostAuditPolicy, hostPolicy } from '../helpers/policies.ts';
import { waitFor } from '../helpers/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const NETOPS = fileURLToPath(new URL('../../build/netops', import.meta.url));

interface Alert { Operation?: string; Resource?: string; PolicyName?: string; HostPID?: number; Data?: string; Syscall?: string }

function syscallPolicy(name: string, exe: string): string {
  return hostPolicy(name, `  syscalls:
    matchSyscalls:
      - syscall: [connect, ptrace]
        fromSource:
          - path: ${exe}
  action: Audit
`);
}

test('the kernel hooks follow the policies: attached on demand, detached when they go, alerts again when they come back', async (t) => {
  if (!needsBpf(t)) return;
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-run-hooks-')));
  const policies = join(dir, 'policies');
  mkdirSync(policies);
  const watched = join(dir, 'watched');
  writeFileSync(watched, 'x');
  const netops = realpathSync(NETOPS);
  writeFileSync(join(policies, 'sys.yaml'), syscallPolicy('hsp-connect', netops));
  let agent: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';
  const { freePort } = await import('../helpers/collector.ts');
  const port = await freePort();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const detail = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/readyz?verbose`)).text();
  const hooksLine = async (): Promise<string> => (await detail()).split('\n').find((l) => l.startsWith('kernel hooks: ')) ?? '';
  const hooksBecome = (re: RegExp, what: string): Promise<string> => waitFor(what, 40_000, async () => {
    const l = await hooksLine();
    return re.test(l) ? l : undefined;
  });
  const alerts = (): Alert[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Alert);
  const connect = async (what: string): Promise<Alert> => {
    const r = spawnSync(netops, ['connect', '127.0.0.1', '9'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return waitFor(what, 20_000, () => alerts().find((a) => a.HostPID === r.pid && a.Operation === 'Syscall'));
  };
  try {
    agent = spawn(process.execPath, [MAIN, 'run', '--policies', policies, '--exporter', 'stdout', '--health-addr', `127.0.0.1:${port}`, '--scan-detection=false', '--shutdown-deadline', '5s'], {
      env: { ...process.env, ARMORWATCH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    agent.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    await waitFor('/readyz', 90_000, async () => {
      try { return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined; } catch { return undefined; }
    }).catch((err: Error) => { throw new Error(`${err.message}; the agent said:\n${stderr.slice(-3000)}`); });

    // A syscall rule on connect: the network hooks, and they alone.
    const net = await hooksBecome(/network attached, connect outcome attached/, 'the network hooks');
    assert.match(net, /^kernel hooks: file detached, exec detached, network attached, connect outcome attached \(\d+ links\)$/);
    const a = await connect('the Syscall alert of a real connect');
    assert.equal(a.PolicyName, 'hsp-connect');
    assert.equal(a.Syscall, 'SYS_CONNECT');
    assert.match(a.Data ?? '', /^syscall=SYS_CONNECT\b/);
    assert.equal(a.Resource, 'remoteip=127.0.0.1 port=9 protocol=TCP');
    // ptrace is not observed: said in the detail, the metric and the load log.
    assert.match(await detail(), /^unobserved policy sections: syscalls \(1: KubeArmorHostPolicy\/[^ ]*hsp-connect\)$/m);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^armorwatch_policy_unobserved_sections\{section="syscalls",[^}]*\} 1$/m);
    assert.match(stderr, /spec\.syscalls\.matchSyscalls\[0\]\.syscall\[1\].*ptrace is not observed/);
    assert.doesNotMatch(stderr, /syscall\[0\][^\n]*connect is not observed/);

    // No policy: every hook goes.
    rmSync(join(policies, 'sys.yaml'));
    await hooksBecome(/^kernel hooks: file detached, exec detached, network detached, connect outcome detached \(0 links\)$/, 'every hook detached');

    // A file policy: the file hooks alone.
    writeFileSync(join(policies, 'file.yaml'), hostAuditPolicy('hsp-file', [watched]));
    await hooksBecome(/^kernel hooks: file attached, exec detached, network detached, connect outcome detached/, 'the file hooks');
    const cat = spawnSync('/bin/cat', [watched]);
    await waitFor('the file alert', 20_000, () => alerts().find((x) => x.HostPID === cat.pid && x.Resource === watched));

    // The syscall policy back, the file policy gone: connects alert again.
    rmSync(join(policies, 'file.yaml'));
    writeFileSync(join(policies, 'sys.yaml'), syscallPolicy('hsp-connect', netops));
    await hooksBecome(/^kernel hooks: file detached, exec detached, network attached, connect outcome attached/, 'the network hooks again');
    const again = await connect('the Syscall alert after the hooks came back');
    assert.equal(again.PolicyName, 'hsp-connect');
  } finally {
    if (agent !== undefined && agent.exitCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
  }
});
