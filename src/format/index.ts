// syscall + arguments + errno → the strings KubeArmor puts in an alert (Data, Result, flag words).
export { formatData, formatCallFlags, formatMode, syscallName } from './data.ts';
export { formatResult, strerror, errnoFromName, errnoNames } from './errno.ts';
export {
  AT_FDCWD, FlagParseError, formatAtFlags, formatOpenFlags, formatRenameFlags, formatResolveFlags,
  openFlagsWrite, parseAtFlags, parseOpenFlags, parseRenameFlags,
} from './flags.ts';
