// Names of the port-scan records (src/export/scan.ts): the network semantic conventions (stable,
// from @opentelemetry/semantic-conventions) as they apply to an episode, and the scan's own facts
// under `armorwatch.scan.*`. SCAN_MAPPING joins MAPPING (attributes.ts), so docs/OTEL.md lists them.
import {
  ATTR_NETWORK_PEER_ADDRESS, ATTR_NETWORK_PEER_PORT, ATTR_NETWORK_TRANSPORT, ATTR_NETWORK_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT,
} from '@opentelemetry/semantic-conventions';
import type { MappingRow } from './attributes.ts';

/** EventName of every port-scan record. */
export const EVENT_SCAN_EPISODE = 'armorwatch.scan.episode';
/** KubeArmor's Type and PolicyName of a port-scan record (no policy: the detector is built in). */
export const SCAN_TYPE = 'PortScan';
export const SCAN_POLICY_NAME = 'armorwatch-port-scan';
/** The severity (KubeArmor's 1–10) every port-scan record carries: WARN3 in OTLP. */
export const SCAN_SEVERITY = 5;
/** MITRE ATT&CK T1046: Network Service Discovery. */
export const SCAN_TAGS: readonly string[] = Object.freeze(['PortScan', 'MITRE', 'T1046']);
export const SCAN_MESSAGE = 'Port scan: connection attempts to many ports or hosts';

const NS = 'armorwatch.scan';

export const SCAN = {
  networkTransport: ATTR_NETWORK_TRANSPORT,
  networkType: ATTR_NETWORK_TYPE,
  peerAddress: ATTR_NETWORK_PEER_ADDRESS,
  peerPort: ATTR_NETWORK_PEER_PORT,
  serverAddress: ATTR_SERVER_ADDRESS,
  serverPort: ATTR_SERVER_PORT,
  id: `${NS}.id`,
  phase: `${NS}.phase`,
  kinds: `${NS}.kinds`,
  slow: `${NS}.slow`,
  attempts: `${NS}.attempts`,
  distinctPorts: `${NS}.distinct_ports`,
  distinctHosts: `${NS}.distinct_hosts`,
  hostsCapped: `${NS}.hosts_capped`,
  succeeded: `${NS}.succeeded`,
  refused: `${NS}.refused`,
  failed: `${NS}.failed`,
  hosts: `${NS}.hosts`,
  ports: `${NS}.ports`,
  openPorts: `${NS}.open_ports`,
  firstTime: `${NS}.first_time`,
  lastTime: `${NS}.last_time`,
  // String copies of the arrays, only with --datadog-attributes (src/export/datadog.ts).
  kindsJoined: `${NS}.kinds_joined`,
  hostsJoined: `${NS}.hosts_joined`,
  portsJoined: `${NS}.ports_joined`,
  openPortsJoined: `${NS}.open_ports_joined`,
} as const;

const row = (name: string, from: string, type: MappingRow['type'], note: string): MappingRow => ({ name, where: 'record', from, type, note, only: 'scan' });

/** The rows of docs/OTEL.md for port-scan records (only those carry them). */
export const SCAN_MAPPING: readonly MappingRow[] = [
  row(SCAN.networkTransport, 'Resource (protocol)', 'string', '`tcp` or `udp`, when the episode used one transport'),
  row(SCAN.networkType, '—', 'string', '`ipv4` or `ipv6`, when the episode used one family'),
  row(SCAN.peerAddress, 'Resource (remoteip)', 'string', 'the scanned host, when the episode attempted exactly one (vertical scan)'),
  row(SCAN.serverAddress, 'Resource (remoteip)', 'string', 'the same, as the server side of the attempted connections'),
  row(SCAN.peerPort, 'Resource (port)', 'int', 'the scanned port, when the episode attempted exactly one (horizontal scan)'),
  row(SCAN.serverPort, 'Resource (port)', 'int', 'the same, as the server side'),
  row(SCAN.id, 'Scan.Id', 'string', 'the same on every record of one episode'),
  row(SCAN.phase, 'Scan.Phase', 'string', '`started`, `updated` (at most every --scan-update-interval) or `ended` (after --scan-quiet without attempts; final counts)'),
  row(SCAN.kinds, 'Scan.Kinds', 'string[]', '`vertical` (many ports of one host), `horizontal` (one port of many hosts), or both'),
  row(SCAN.slow, 'Scan.Slow', 'boolean', 'true when the slow window\'s thresholds started it, with attempts spread over more than --scan-window'),
  row(SCAN.attempts, 'Scan.Attempts', 'int', 'connect() calls counted in the episode so far'),
  row(SCAN.distinctPorts, 'Scan.DistinctPorts', 'int', 'distinct destination ports'),
  row(SCAN.distinctHosts, 'Scan.DistinctHosts', 'int', 'distinct destination hosts (a lower bound with hosts_capped)'),
  row(SCAN.hostsCapped, 'Scan.HostsCapped', 'boolean', 'true when more hosts than --scan-max-targets were attempted'),
  row(SCAN.succeeded, 'Scan.Succeeded', 'int', 'attempts that connected (at the call, or later for non-blocking connects)'),
  row(SCAN.refused, 'Scan.Refused', 'int', 'attempts refused (ECONNREFUSED: closed port)'),
  row(SCAN.failed, 'Scan.Failed', 'int', 'attempts that failed otherwise (unreachable, timed out, ...); attempts minus the three counts had no result'),
  row(SCAN.hosts, 'Scan.Hosts', 'string[]', 'the first hosts attempted (at most 16)'),
  row(SCAN.ports, 'Scan.Ports', 'int[]', 'the lowest ports attempted (at most 32)'),
  row(SCAN.openPorts, 'Scan.OpenPorts', 'int[]', 'ports a TCP connect succeeded to (at most 32), when any'),
  row(SCAN.firstTime, 'Scan.FirstTime', 'string', 'RFC 3339 time of the first attempt counted'),
  row(SCAN.lastTime, 'Scan.LastTime', 'string', 'RFC 3339 time of the latest attempt counted'),
  ...([[SCAN.kindsJoined, SCAN.kinds, 'Scan.Kinds'], [SCAN.hostsJoined, SCAN.hosts, 'Scan.Hosts'], [SCAN.portsJoined, SCAN.ports, 'Scan.Ports'], [SCAN.openPortsJoined, SCAN.openPorts, 'Scan.OpenPorts']] as const)
    .map(([name, of, from]): MappingRow => ({ ...row(name, from, 'string', `\`${of}\` joined by commas`), option: '--datadog-attributes' })),
];
