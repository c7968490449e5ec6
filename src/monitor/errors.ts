// Errors of the file monitor. Codes are stable; messages say what is missing and how to fix it.
import { ArmorwatchError } from '../errors.ts';

export type MonitorErrorCode =
  | 'AW_MONITOR_PRIVILEGES' // not root and no CAP_BPF + CAP_PERFMON
  | 'AW_MONITOR_NO_BTF' // the kernel exposes no BTF
  | 'AW_MONITOR_HELPER_MISSING' // build/armorwatch-monitor not built
  | 'AW_MONITOR_REFUSED' // the kernel (verifier) refused the programs
  | 'AW_MONITOR_PERMISSION' // the kernel said EPERM at load time
  | 'AW_MONITOR_HELPER_FAILED' // the helper exited or broke the protocol
  | 'AW_MONITOR_FILTER' // a filter spec that cannot be applied
  | 'AW_MONITOR_DECODE' // an event record that does not match the layout
  | 'AW_MONITOR_CLOSED'; // used after close()

export class MonitorError extends ArmorwatchError {
  declare readonly code: MonitorErrorCode | string;
  constructor(code: MonitorErrorCode | string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'MonitorError';
  }
}
