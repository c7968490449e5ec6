// The network namespaces the monitor's network tests make (`ip netns`, veth pairs), and the netops
// tool (test/monitor/netops.c) run inside them.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { run } from './harness.ts';

export const NETOPS = new URL('../../build/netops', import.meta.url).pathname;

export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The inode of a namespace made here: what the kernel reports as a record's netNs. */
export function nsInode(ns: string): number {
  return statSync(`/run/netns/${ns}`).ino;
}

/** The namespaces one test file makes, each with its loopback up; removed together. */
export class TestNamespaces {
  readonly #made: string[] = [];

  add(name: string): string {
    ip('netns', 'add', name);
    this.#made.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return name;
  }

  /** Joins two of them by a veth pair named `name`c/`name`s, at `aIp`/24 and `bIp`/24, both up. */
  veth(name: string, a: string, aIp: string, b: string, bIp: string): void {
    ip('link', 'add', `${name}c`, 'netns', a, 'type', 'veth', 'peer', 'name', `${name}s`, 'netns', b);
    ip('-n', a, 'addr', 'add', `${aIp}/24`, 'dev', `${name}c`);
    ip('-n', b, 'addr', 'add', `${bIp}/24`, 'dev', `${name}s`);
    ip('-n', a, 'link', 'set', `${name}c`, 'up');
    ip('-n', b, 'link', 'set', `${name}s`, 'up');
  }

  removeAll(): void {
    for (const ns of this.#made.splice(0)) {
      try { ip('netns', 'del', ns); } catch { /* already gone */ }
    }
  }
}

/** Runs netops in `ns` (cwd `dir`, AW_MARK `mark`) to its end; its pid (ip netns exec execs it in place). */
export function runNetops(ns: string, dir: string, mark: string, ...args: string[]): number {
  return run('ip', ['netns', 'exec', ns, NETOPS, ...args], dir, { ...process.env, AW_MARK: mark });
}
