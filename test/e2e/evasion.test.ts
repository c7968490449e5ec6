// Issue 14 part 5 end to end: the agent (`armorwatch run`, real eBPF) with a host policy on one file
// and one directory, and the real Collector. Each evasion the issue found is performed by a real
// process — a hard link made with ln, mount --bind of the directory and of the file, a bind mount in
// a private mount namespace (unshare -m), chroot into a directory holding a bind-mounted copy, an
// io_uring IORING_OP_OPENAT, open_by_handle_at — and each must arrive as a policy match. Before this
// work every one of them read the file without an alert.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, startCollector, type CollectedRecord, type Collector } from '../helpers/collector.ts';
import { bpfUnavailableReason, needsBpf } from '../helpers/privileges.ts';
import { waitFor } from '../helpers/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const EVASIONS = fileURLToPath(new URL('../../build/evasions', import.meta.url));
const POLICY = 'hsp-evasion';

let dir = '';
let secret = '';
let watched = '';
let inner = '';
let collector: Collector | null = null;
let agent: ChildProcess | undefined;
let stderr = '';
const agentLog = (): string => `agent log tail:\n${stderr.slice(-1500)}`;
const mounts: string[] = [];

function policy(file: string, directory: string): string {
  return `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: ${POLICY}
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: ${hostname()}
  severity: 9
  file:
    matchPaths:
      - path: ${file}
    matchDirectories:
      - dir: ${directory}/
        recursive: true
  action: Audit
`;
}

/** The policy's record for a process (by host pid, or by the predicate), once it has arrived. */
function recordOf(what: string, pred: (r: CollectedRecord) => boolean): Promise<CollectedRecord> {
  return waitFor(what, 20_000, () => collector!.records().find((r) => r.attributes['security_rule.name'] === POLICY && pred(r)), { detail: agentLog });
}

function bind(from: string, to: string): number {
  const r = spawnSync('mount', ['--bind', from, to], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  mounts.push(to);
  return r.pid as number;
}

before(async () => {
  if (bpfUnavailableReason() !== null) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'aw-e2e-evasion-')));
  for (const d of ['policies', 'w', 'd', 'other', 'mnt-dir', 'mnt-ns', 'jail', 'jail/x']) mkdirSync(join(dir, d));
  secret = join(dir, 'w', 'secret');
  watched = join(dir, 'd');
  inner = join(watched, 'inner');
  writeFileSync(secret, 'the secret');
  writeFileSync(inner, 'inside');
  writeFileSync(join(dir, 'mnt-file'), '');
  copyFileSync(EVASIONS, join(dir, 'jail', 'evasions'));
  writeFileSync(join(dir, 'policies', 'p.yaml'), policy(secret, watched));
  collector = await startCollector();
  const healthPort = await freePort();
  agent = spawn(process.execPath, [MAIN, 'run', '--policies', join(dir, 'policies'), '--cluster-name', 'e2e', '--health-addr', `127.0.0.1:${healthPort}`,
    '--max-alerts-per-sec', '0', '--shutdown-deadline', '5s'], {
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://${collector.grpcAddress}`, ARMORWATCH_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  agent.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  await waitFor('/readyz', 60_000, async () => {
    try { return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined; } catch { return undefined; }
  }, { detail: agentLog });
  const detail = await (await fetch(`http://127.0.0.1:${healthPort}/readyz?verbose`)).text();
  assert.match(detail, /host rule targets watched by identity: 2\n/, detail);
  assert.match(detail, /container rule targets watched by identity: 0 in 0 containers\n/, detail);
  assert.match(detail, /io_uring opens: observed/, detail);
});
after(async () => {
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  agent?.kill('SIGKILL');
  await collector?.dispose();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('hard link: ln of the watched file alerts (both names), and reading the link alerts naming the file', async (t) => {
  if (!needsBpf(t)) return;
  const link = join(dir, 'other', 'link');
  const ln = spawnSync('ln', [secret, link]);
  assert.equal(ln.status, 0);
  const made = await recordOf('the ln record', (r) => r.attributes['process.pid'] === ln.pid);
  assert.equal(made.attributes['file.path'], secret);
  assert.match(String(made.attributes['kubearmor.data']), new RegExp(`^syscall=SYS_LINKAT? .*newpath=${link}`));
  const cat = spawnSync('cat', [link]);
  const read = await recordOf('the read through the link', (r) => r.attributes['process.pid'] === cat.pid);
  assert.equal(read.attributes['file.path'], link);
  assert.equal(read.attributes['kubearmor.matched_resource'], secret);
});

test('mount --bind of the watched directory: the mount alerts, and a read through it alerts', async (t) => {
  if (!needsBpf(t)) return;
  const at = join(dir, 'mnt-dir');
  const pid = bind(watched, at);
  const m = await recordOf('the mount record', (r) => r.attributes['process.pid'] === pid);
  assert.equal(m.attributes['kubearmor.syscall'], 'SYS_MOUNT');
  assert.match(String(m.attributes['kubearmor.data']), new RegExp(`target=${at} flags=MS_BIND`));
  const cat = spawnSync('cat', [join(at, 'inner')]);
  const read = await recordOf('the read through the bind mount', (r) => r.attributes['process.pid'] === cat.pid);
  assert.equal(read.attributes['file.path'], join(at, 'inner'));
  assert.equal(read.attributes['kubearmor.matched_resource'], inner);
});

test('mount --bind of the watched file itself, read where it is mounted', async (t) => {
  if (!needsBpf(t)) return;
  const at = join(dir, 'mnt-file');
  bind(secret, at);
  const cat = spawnSync('cat', [at]);
  const read = await recordOf('the read of the bind-mounted file', (r) => r.attributes['process.pid'] === cat.pid);
  assert.equal(read.attributes['kubearmor.matched_resource'], secret);
});

test('a bind mount in a private mount namespace (unshare -m), read there', async (t) => {
  if (!needsBpf(t)) return;
  const at = join(dir, 'mnt-ns');
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind '${watched}' '${at}' && exec cat '${at}/inner'`], { encoding: 'utf8' });
  assert.equal(r.stdout, 'inside', r.stderr);
  const read = await recordOf('the read in the private namespace', (x) => x.attributes['file.path'] === `${at}/inner` && x.attributes['process.executable.name'] === 'cat');
  assert.equal(read.attributes['kubearmor.matched_resource'], inner);
});

test('chroot into a directory holding a bind-mounted copy: the process path, the host path and the rule path', async (t) => {
  if (!needsBpf(t)) return;
  const jail = join(dir, 'jail');
  bind(watched, join(jail, 'x'));
  const r = spawnSync('chroot', [jail, '/evasions', 'cat', '/x/inner'], { encoding: 'utf8' });
  assert.match(r.stdout, /inside/, r.stderr);
  const read = await recordOf('the read inside the chroot', (x) => x.attributes['process.pid'] === r.pid);
  assert.equal(read.attributes['file.path'], '/x/inner');
  assert.equal(read.attributes['kubearmor.host_resource'], join(jail, 'x', 'inner'));
  assert.equal(read.attributes['kubearmor.matched_resource'], inner);
});

test('io_uring IORING_OP_OPENAT of the watched file alerts', async (t) => {
  if (!needsBpf(t)) return;
  const r = spawnSync(EVASIONS, ['uring', secret], { encoding: 'utf8' });
  assert.match(r.stdout, /the secret/, r.stderr);
  const read = await recordOf('the io_uring open', (x) => x.attributes['process.pid'] === r.pid);
  assert.equal(read.attributes['kubearmor.syscall'], 'SYS_IO_URING_ENTER');
  assert.equal(read.attributes['file.path'], secret);
  assert.equal(read.attributes['kubearmor.result'], 'Passed');
});

test('io_uring: a failed open of a name in the watched directory alerts with its result; an open into a fixed-file slot through a hard link alerts', async (t) => {
  if (!needsBpf(t)) return;
  const missing = join(watched, 'no-such-file');
  const failed = spawnSync(EVASIONS, ['uring', missing], { encoding: 'utf8' });
  assert.match(failed.stdout, /^-2 /, failed.stderr);
  const f = await recordOf('the failed io_uring open', (x) => x.attributes['process.pid'] === failed.pid);
  assert.equal(f.attributes['kubearmor.syscall'], 'SYS_IO_URING_ENTER');
  assert.equal(f.attributes['file.path'], missing);
  assert.equal(f.attributes['kubearmor.result'], 'No such file or directory');
  const link = join(dir, 'other', 'uring-fixed');
  linkSync(secret, link);
  const fixed = spawnSync(EVASIONS, ['uringfixed', link], { encoding: 'utf8' });
  assert.match(fixed.stdout, /^0 the secret/, fixed.stderr);
  const r = await recordOf('the fixed-file io_uring open', (x) => x.attributes['process.pid'] === fixed.pid);
  assert.equal(r.attributes['file.path'], link, 'the name the program asked for');
  assert.equal(r.attributes['kubearmor.matched_resource'], secret);
});

test('open_by_handle_at of a file in the watched directory alerts', async (t) => {
  if (!needsBpf(t)) return;
  const r = spawnSync(EVASIONS, ['handle', inner], { encoding: 'utf8' });
  assert.match(r.stdout, /inside/, r.stderr);
  // (It also opens the directory for its mount descriptor: a record of its own, by openat.)
  const read = await recordOf('the open by handle', (x) => x.attributes['process.pid'] === r.pid && x.attributes['kubearmor.syscall'] === 'SYS_OPEN_BY_HANDLE_AT');
  assert.equal(read.attributes['file.path'], inner);
});

test('a hard link made to a file inside the watched directory: reading through the link later alerts, naming the file inside', async (t) => {
  if (!needsBpf(t)) return;
  const link = join(dir, 'other', 'inner-link');
  const ln = spawnSync('ln', [inner, link]);
  assert.equal(ln.status, 0);
  await recordOf('the ln record', (r) => r.attributes['process.pid'] === ln.pid);
  // The agent watches the new name once it has resolved it and switched the kernel filter (a
  // moment after the ln: TOUCH_DELAY_MS, then a switch that waits for an RCU grace period): read
  // until a read alerts.
  const read = await waitFor('the read through the link', 15_000, () => {
    const cat = spawnSync('cat', [link], { encoding: 'utf8' });
    assert.equal(cat.stdout, 'inside');
    return waitFor('its record', 2_000, () => collector!.records().find((r) => r.attributes['security_rule.name'] === POLICY && r.attributes['process.pid'] === cat.pid)).catch(() => undefined);
  }, { detail: agentLog });
  assert.equal(read.attributes['file.path'], link);
  assert.equal(read.attributes['kubearmor.matched_resource'], inner);
});

test('the watched file replaced by a rename: within a second (not the 10 s backstop), a read through a link made to the new file alerts', async (t) => {
  if (!needsBpf(t)) return;
  // The link is made to the new file before it takes the watched name: the agent sees nothing of
  // it (neither name is watched yet); only the rename over the watched name can tell it.
  const fresh = `${secret}.new`;
  const pre = join(dir, 'other', 'pre');
  writeFileSync(fresh, 'the new secret');
  linkSync(fresh, pre);
  renameSync(fresh, secret);
  await new Promise((r) => setTimeout(r, 1000));
  const cat = spawnSync('cat', [pre], { encoding: 'utf8' });
  assert.equal(cat.stdout, 'the new secret');
  const read = await recordOf('the read of the replaced file through the link', (r) => r.attributes['process.pid'] === cat.pid);
  assert.equal(read.attributes['file.path'], pre);
  assert.equal(read.attributes['kubearmor.matched_resource'], secret);
});
