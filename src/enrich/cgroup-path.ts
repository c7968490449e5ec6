// Which container (and pod) a cgroup path belongs to. Runtimes and cgroup drivers name the
// container's cgroup differently; all of them end in a segment that carries the 64-hex id.

export type ContainerRuntime = 'containerd' | 'crio' | 'docker' | 'podman' | 'unknown';

export interface CgroupIdentity {
  readonly containerId: string;
  readonly runtime: ContainerRuntime;
  /** Pod uid with dashes (the systemd driver writes `_` instead), when the path holds one. */
  readonly podUid: string | null;
}

const HEX64 = '([0-9a-f]{64})';
// Systemd scope units (`cri-containerd-<id>.scope`), CRI-O under cgroupfs (`crio-<id>`), and the
// `slice:prefix:id` form runc writes when it was given a systemd path but manages cgroupfs itself.
const CONTAINER_SEGMENT: ReadonlyArray<readonly [RegExp, ContainerRuntime]> = [
  [new RegExp(`^cri-containerd-${HEX64}\\.scope$`), 'containerd'],
  [new RegExp(`:cri-containerd:${HEX64}$`), 'containerd'],
  [new RegExp(`^crio-${HEX64}(?:\\.scope)?$`), 'crio'],
  [new RegExp(`:crio:${HEX64}$`), 'crio'],
  [new RegExp(`^docker-${HEX64}\\.scope$`), 'docker'],
  [new RegExp(`:docker:${HEX64}$`), 'docker'],
  [new RegExp(`^libpod-${HEX64}\\.scope$`), 'podman'],
  [new RegExp(`^${HEX64}$`), 'unknown'],
];
// `pod<uid>` (cgroupfs) or `kubepods-<qos>-pod<uid>.slice` (systemd). Static pods have a 32-hex uid.
const POD_SEGMENT = /(?:^|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?$/;

/** The container a cgroup v2 (or v1 controller) path belongs to, or null for a host cgroup. */
export function parseCgroupPath(path: string): CgroupIdentity | null {
  const segments = path.split('/').filter((s) => s !== '' && s !== '..');
  let found: { id: string; runtime: ContainerRuntime; at: number } | null = null;
  // The innermost match wins: a container may make sub-cgroups of its own below its scope.
  for (let i = segments.length - 1; i >= 0 && found === null; i--) {
    const seg = segments[i]!;
    for (const [re, runtime] of CONTAINER_SEGMENT) {
      const m = re.exec(seg);
      if (m !== null) { found = { id: m[1]!, runtime, at: i }; break; }
    }
  }
  if (found === null) return null;
  let podUid: string | null = null;
  for (let i = found.at; i >= 0 && podUid === null; i--) {
    // In the `slice:prefix:id` form the pod's slice shares the container's segment.
    const m = POD_SEGMENT.exec(segments[i]!.split(':')[0]!);
    if (m !== null) podUid = m[1]!.replaceAll('_', '-');
  }
  let runtime = found.runtime;
  // Plain `/docker/<id>` is Docker's cgroupfs layout; kubelet's cgroupfs layout does not say.
  if (runtime === 'unknown' && segments[found.at - 1] === 'docker') runtime = 'docker';
  return { containerId: found.id, runtime, podUid };
}

/**
 * The cgroup path of a process from the text of /proc/<pid>/cgroup: the unified (v2) line `0::/path`
 * when it names a cgroup, else the first v1 controller line that does (systemd's named hierarchy
 * first, then cpu/memory/pids), since on cgroup v1 hosts the unified line is absent or just `/`.
 */
export function cgroupPathFromProc(text: string): { v2: string | null; v1: string | null } {
  let v2: string | null = null;
  const v1ByController = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (line.slice(0, first) === '0' && controllers === '') v2 = path;
    else for (const c of controllers.split(',')) v1ByController.set(c, path);
  }
  let v1: string | null = null;
  for (const c of ['name=systemd', 'pids', 'memory', 'cpu', 'cpuacct', 'devices']) {
    const p = v1ByController.get(c);
    if (p !== undefined && p !== '/') { v1 = p; break; }
  }
  if (v1 === null) for (const p of v1ByController.values()) if (p !== '/') { v1 = p; break; }
  return { v2, v1 };
}

/** The container of a process from its /proc/<pid>/cgroup text: v2 path first, then v1. */
export function identityFromProcCgroup(text: string): CgroupIdentity | null {
  const { v2, v1 } = cgroupPathFromProc(text);
  return (v2 !== null ? parseCgroupPath(v2) : null) ?? (v1 !== null ? parseCgroupPath(v1) : null);
}
