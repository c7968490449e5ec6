// What both renderers of a match (the KubeArmor JSON line and the OTLP record) say the same way:
// who acted on what, by which call, with which result. Computed once per match from the typed
// event; each renderer then only places these values in its own shape.
import { formatCallFlags, formatData, formatResult } from '../format/index.ts';
import { hasDirfd, SYSCALLS, type SyscallInfo } from '../syscalls.ts';
import type { Match } from '../types.ts';

export interface MatchText {
  readonly call: SyscallInfo;
  /** The executable that acted (KubeArmor's Source): the accessing process, or for an exec the caller. */
  readonly source: string;
  /** KubeArmor's ProcessName: the accessing process's executable, or the executed file. */
  readonly processName: string;
  /** Its parent's executable. */
  readonly parentProcessName: string;
  /** The accessed path, or for an exec the command line. */
  readonly resource: string;
  /** The path the kernel really used when it differs from the requested one, else undefined. */
  readonly resolvedResource: string | undefined;
  /** The opened file's path from the root of the process's mount namespace, when it differs from the path it opened (chroot). */
  readonly hostResource: string | undefined;
  /** The rule path the opened file was matched under by identity (hard link, bind mount, ...), when it is none of the paths above. */
  readonly matchedResource: string | undefined;
  /** The accessed file (file and syscall matches), undefined for an exec. */
  readonly filePath: string | undefined;
  /** argv of an exec, undefined otherwise. */
  readonly commandArgs: readonly string[] | undefined;
  readonly argsTruncated: boolean;
  readonly tty: string | undefined;
  readonly data: string;
  readonly flags: string | undefined;
  readonly dirfd: number | undefined;
  readonly result: string;
  readonly passed: boolean;
  /** `Audit` or `Audit (Block)`. */
  readonly action: string;
  readonly type: 'MatchedPolicy' | 'MatchedHostPolicy';
}

/** The command line KubeArmor shows as Resource: the executed path, then the arguments after argv[0]. */
export function commandLine(path: string, argv: readonly string[]): string {
  let out = path;
  for (let i = 1; i < argv.length; i++) out += ` ${argv[i]}`;
  return out;
}

export function matchText(m: Match): MatchText {
  const ev = m.event;
  const call = SYSCALLS[ev.syscall];
  const flags = formatCallFlags(ev);
  const common = {
    call,
    parentProcessName: ev.parentExePath,
    data: formatData(ev, flags),
    flags,
    dirfd: hasDirfd(call) ? ev.dirfd : undefined,
    result: formatResult(ev.ret),
    passed: ev.ret >= 0,
    action: m.decision.action === 'Block' ? 'Audit (Block)' : 'Audit',
    type: m.workload.kind === 'container' ? 'MatchedPolicy' : 'MatchedHostPolicy',
    tty: ev.tty ?? undefined,
  } as const;
  if (ev.kind === 'process') {
    return {
      ...common,
      source: ev.callerExePath,
      processName: ev.absPath,
      resource: commandLine(ev.absPath, ev.argv),
      resolvedResource: ev.resolvedPath !== null && ev.resolvedPath !== ev.absPath ? ev.resolvedPath : undefined,
      hostResource: undefined,
      matchedResource: undefined,
      filePath: undefined,
      commandArgs: ev.argv,
      argsTruncated: ev.argvTruncated,
    };
  }
  return {
    ...common,
    source: ev.exePath,
    processName: ev.exePath,
    resource: ev.absPath,
    resolvedResource: ev.resolvedPath !== null && ev.resolvedPath !== ev.absPath ? ev.resolvedPath : undefined,
    hostResource: ev.hostPath !== undefined && ev.hostPath !== null && ev.hostPath !== (ev.resolvedPath ?? ev.absPath) ? ev.hostPath : undefined,
    matchedResource: ev.identityPath !== undefined && ev.identityPath !== null && ev.identityPath === m.decision.matchedPath
      && ev.identityPath !== ev.absPath && ev.identityPath !== ev.resolvedPath && ev.identityPath !== ev.hostPath ? ev.identityPath : undefined,
    filePath: ev.absPath,
    commandArgs: undefined,
    argsTruncated: false,
  };
}
