// Tests that need root, BPF or containers call these. With ARMORWATCH_REQUIRE_BPF=1 (set by
// .ci/run) a missing capability fails the test instead of skipping it, so CI cannot hide it.
import type { TestContext } from 'node:test';
import { existsSync } from 'node:fs';

export const REQUIRE_BPF = process.env.ARMORWATCH_REQUIRE_BPF === '1';

/** Why BPF tests cannot run here, or null when they can. */
export function bpfUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no BTF at /sys/kernel/btf/vmlinux';
  return null;
}

/**
 * Returns true when the test may go on. Otherwise skips it, or fails it when REQUIRE_BPF is set.
 * Usage: `if (!needsBpf(t)) return;`
 */
export function needsBpf(t: TestContext, extraReason: string | null = null): boolean {
  const why = bpfUnavailableReason() ?? extraReason;
  if (why === null) return true;
  if (REQUIRE_BPF) throw new Error(`this test needs BPF and ARMORWATCH_REQUIRE_BPF=1: ${why}`);
  t.skip(why);
  return false;
}
