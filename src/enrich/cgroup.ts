// cgroup id (from the kernel event) → cgroup path → container. The id is the inode number of the
// cgroup's directory in the unified (v2) hierarchy, so the path can be found from the process's
// /proc/<pid>/cgroup (checked by inode) or, once the process is gone, by walking the hierarchy.
import { readFile, readdir, stat } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupPathFromProc, parseCgroupPath, type CgroupIdentity } from './cgroup-path.ts';

export interface CgroupLookup {
  /** Path below the cgroup2 root ('' when unknown). */
  readonly path: string;
  readonly identity: CgroupIdentity | null;
}

/** Where the unified hierarchy is mounted: /sys/fs/cgroup (v2) or /sys/fs/cgroup/unified (hybrid); null on pure v1. */
export function findCgroup2Mount(mountinfo: string = readFileSync('/proc/self/mountinfo', 'utf8')): string | null {
  const mounts: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    if (line.slice(sep + 3).split(' ')[0] === 'cgroup2') mounts.push(line.slice(0, sep).split(' ')[4]!);
  }
  return mounts.find((m) => m === '/sys/fs/cgroup') ?? mounts.find((m) => m === '/sys/fs/cgroup/unified') ?? mounts[0] ?? null;
}

/** The host's mount and pid namespace inode numbers, from pid 1 (the agent runs with hostPID). */
export function hostNamespaces(procRoot = '/proc'): { mnt: number; pid: number } | null {
  try {
    return { mnt: statSync(`${procRoot}/1/ns/mnt`).ino, pid: statSync(`${procRoot}/1/ns/pid`).ino };
  } catch {
    return null;
  }
}

export class CgroupResolver {
  readonly #root: string | null;
  readonly #procRoot: string;
  readonly #walkLimit: number;
  walks = 0;

  constructor(opts: { cgroupRoot: string | null; procRoot: string; walkLimit: number }) {
    this.#root = opts.cgroupRoot;
    this.#procRoot = opts.procRoot;
    this.#walkLimit = opts.walkLimit;
  }

  /** The cgroup of `cgroupId`; `hostPid` is the process that raised the event (it may have exited). */
  async lookup(cgroupId: bigint, hostPid: number): Promise<CgroupLookup> {
    let procText: string | null = null;
    try {
      procText = await readFile(`${this.#procRoot}/${hostPid}/cgroup`, 'utf8');
    } catch {
      // The process exited before we looked: only the hierarchy can tell.
    }
    if (procText !== null) {
      const { v2, v1 } = cgroupPathFromProc(procText);
      if (v2 !== null && this.#root !== null && (await this.#inodeOf(join(this.#root, v2))) === cgroupId) {
        return { path: v2, identity: parseCgroupPath(v2) };
      }
      // Pure cgroup v1: the kernel reports the root's id for everyone, so the v1 path is all there is.
      if (this.#root === null) {
        const p = v1 ?? v2 ?? '';
        return { path: p, identity: p === '' ? null : parseCgroupPath(p) };
      }
    }
    const path = await this.#walk(cgroupId);
    return { path: path ?? '', identity: path === null ? null : parseCgroupPath(path) };
  }

  async #inodeOf(p: string): Promise<bigint | null> {
    try { return (await stat(p, { bigint: true })).ino; } catch { return null; }
  }

  // Breadth-first, kubepods first since that is where containers live; bounded by walkLimit dirs.
  async #walk(cgroupId: bigint): Promise<string | null> {
    if (this.#root === null) return null;
    this.walks++;
    if ((await this.#inodeOf(this.#root)) === cgroupId) return '/';
    const queue: string[] = [''];
    let seen = 0;
    while (queue.length > 0 && seen < this.#walkLimit) {
      const rel = queue.shift()!;
      let entries;
      try { entries = await readdir(join(this.#root, rel), { withFileTypes: true }); } catch { continue; }
      const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name);
      dirs.sort((a, b) => Number(b.startsWith('kubepods')) - Number(a.startsWith('kubepods')));
      for (const name of dirs) {
        const child = `${rel}/${name}`;
        seen++;
        if ((await this.#inodeOf(join(this.#root, child))) === cgroupId) return child;
        queue.push(child);
      }
    }
    return null;
  }
}
