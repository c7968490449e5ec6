// syscall + arguments + errno + time → the strings KubeArmor puts in an alert (Data, Result, flag words, UpdatedTime).
export { formatData, formatCallFlags, formatMode, syscallName } from './data.ts';
export type { DataInput } from './data.ts';
export { formatResult, strerror, errnoFromName, errnoNames } from './errno.ts';
export {
  AT_FDCWD, FlagParseError, formatAtFlags, formatMountFlags, formatMoveMountFlags, formatOpenFlags, formatRenameFlags, formatResolveFlags, MS_SOURCE_IS_PATH,
  openFlagsWrite, parseAtFlags, parseMountFlags, parseMoveMountFlags, parseOpenFlags, parseRenameFlags,
} from './flags.ts';
export { isoSeconds, rfc3339Nano, splitNs } from './time.ts';
export {
  AF_INET, AF_INET6, AF_UNIX, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, defaultProtocol, familyName, formatAddress, networkResource, protocolName, socketTypeName,
} from './net.ts';
