// What the monitor needs before it starts, checked up front so the error names the missing piece.
import { existsSync, readFileSync, accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MonitorError } from './errors.ts';

/** build/armorwatch-monitor at the repository root (src/monitor and dist/monitor are both two levels down). */
export function defaultHelperPath(): string {
  return fileURLToPath(new URL('../../build/armorwatch-monitor', import.meta.url));
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCaps(status: string = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m === null ? 0n : BigInt(`0x${m[1]}`);
}

/** Null when tracing may work; otherwise what is missing. */
export function privilegeProblem(uid: number, caps: bigint): string | null {
  const has = (c: bigint): boolean => (caps & (1n << c)) !== 0n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return null;
  return `the file monitor needs root, or CAP_BPF and CAP_PERFMON (running as uid ${uid} without them); run it with sudo or grant the capabilities`;
}

export function preflight(helperPath: string): void {
  const uid = process.getuid?.() ?? -1;
  const problem = privilegeProblem(uid, effectiveCaps());
  if (problem !== null) throw new MonitorError('AW_MONITOR_PRIVILEGES', problem);
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    throw new MonitorError('AW_MONITOR_NO_BTF', 'this kernel has no BTF (/sys/kernel/btf/vmlinux is missing); the monitor needs a kernel built with CONFIG_DEBUG_INFO_BTF=y');
  }
  try {
    accessSync(helperPath, constants.X_OK);
  } catch {
    throw new MonitorError('AW_MONITOR_HELPER_MISSING', `the monitor helper ${helperPath} is not built; build it with: make -C native (or bash scripts/build.sh)`);
  }
}
