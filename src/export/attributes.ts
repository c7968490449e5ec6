// Every attribute name armorwatch puts on an OTLP LogRecord or its Resource, in one place:
// semantic-convention names come from @opentelemetry/semantic-conventions (stable ones imported,
// incubating ones spelled below and checked against the package by a test), the rest live
// under ONE custom namespace, `kubearmor.*`, keeping KubeArmor's meaning.
// MAPPING below is the table docs/OTEL.md is generated from; a test keeps the two equal.
import {
  ATTR_CLIENT_ADDRESS, ATTR_CLIENT_PORT, ATTR_NETWORK_LOCAL_ADDRESS, ATTR_NETWORK_LOCAL_PORT, ATTR_NETWORK_PEER_ADDRESS, ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_TRANSPORT, ATTR_NETWORK_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT,
  ATTR_CONTAINER_ID, ATTR_CONTAINER_IMAGE_NAME, ATTR_CONTAINER_IMAGE_REPO_DIGESTS, ATTR_CONTAINER_IMAGE_TAGS,
  ATTR_K8S_CLUSTER_NAME, ATTR_K8S_CONTAINER_NAME, ATTR_K8S_CRONJOB_NAME, ATTR_K8S_DAEMONSET_NAME,
  ATTR_K8S_DEPLOYMENT_NAME, ATTR_K8S_JOB_NAME, ATTR_K8S_NAMESPACE_NAME, ATTR_K8S_NODE_NAME, ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID, ATTR_K8S_REPLICASET_NAME, ATTR_K8S_STATEFULSET_NAME, ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';
import { EVENT_SCAN_EPISODE, SCAN_MAPPING, SCAN_POLICY_NAME, SCAN_TYPE } from './scan-attributes.ts';
// Incubating semantic-convention names, spelled here rather than imported: the package's incubating
// entry point holds every experimental name of every domain, megabytes of heap loaded at start-up
// for these few strings. test/export/attributes.test.ts
// checks each one against @opentelemetry/semantic-conventions/incubating of the pinned release.
export const INCUBATING = {
  ATTR_CONTAINER_RUNTIME_NAME: 'container.runtime.name',
  ATTR_EVENT_NAME: 'event.name',
  ATTR_FILE_PATH: 'file.path',
  ATTR_HOST_NAME: 'host.name',
  ATTR_PROCESS_ARGS_COUNT: 'process.args_count',
  ATTR_PROCESS_COMMAND_ARGS: 'process.command_args',
  ATTR_PROCESS_COMMAND_LINE: 'process.command_line',
  ATTR_PROCESS_EXECUTABLE_NAME: 'process.executable.name',
  ATTR_PROCESS_EXECUTABLE_PATH: 'process.executable.path',
  ATTR_PROCESS_PARENT_PID: 'process.parent_pid',
  ATTR_PROCESS_PID: 'process.pid',
  ATTR_PROCESS_REAL_USER_ID: 'process.real_user.id',
  ATTR_PROCESS_USER_ID: 'process.user.id',
  ATTR_PROCESS_VPID: 'process.vpid',
  ATTR_PROCESS_WORKING_DIRECTORY: 'process.working_directory',
  ATTR_SECURITY_RULE_DESCRIPTION: 'security_rule.description',
  ATTR_SECURITY_RULE_NAME: 'security_rule.name',
  ATTR_SECURITY_RULE_RULESET_NAME: 'security_rule.ruleset.name',
} as const;
/** k8s.pod.label.<key> (incubating ATTR_K8S_POD_LABEL). */
export const ATTR_K8S_POD_LABEL = (key: string): string => `k8s.pod.label.${key}`;
const {
  ATTR_CONTAINER_RUNTIME_NAME, ATTR_EVENT_NAME, ATTR_FILE_PATH, ATTR_HOST_NAME, ATTR_PROCESS_ARGS_COUNT, ATTR_PROCESS_COMMAND_ARGS, ATTR_PROCESS_COMMAND_LINE, ATTR_PROCESS_EXECUTABLE_NAME, ATTR_PROCESS_EXECUTABLE_PATH,
  ATTR_PROCESS_PARENT_PID, ATTR_PROCESS_PID, ATTR_PROCESS_REAL_USER_ID, ATTR_PROCESS_USER_ID, ATTR_PROCESS_VPID, ATTR_PROCESS_WORKING_DIRECTORY,
  ATTR_SECURITY_RULE_DESCRIPTION, ATTR_SECURITY_RULE_NAME, ATTR_SECURITY_RULE_RULESET_NAME,
} = INCUBATING;

/** The one custom namespace; everything KubeArmor has that semantic conventions do not. */
export const CUSTOM_NAMESPACE = 'kubearmor';

/** EventName of every policy-match record (copied into the deprecated `event.name` attribute only with --event-name-attribute). */
export const EVENT_POLICY_MATCH = 'armorwatch.policy.match';

/** EventName of the notice records of alert throttling (Type `AlertThreshold`). */
export const EVENT_ALERT_THROTTLE = 'armorwatch.alert.throttle';

/**
 * The Resource schema_url: the semantic-conventions release the names here follow, the one of the
 * pinned @opentelemetry/semantic-conventions package (test/export/attributes.test.ts keeps them equal).
 */
export const SCHEMA_URL = 'https://opentelemetry.io/schemas/1.45.0';

/** The only container runtime the enricher reads (containerd's CRI and task API). */
export const CONTAINER_RUNTIME = 'containerd';

export const RES = {
  serviceName: ATTR_SERVICE_NAME,
  serviceVersion: ATTR_SERVICE_VERSION,
  serviceInstanceId: ATTR_SERVICE_INSTANCE_ID,
  clusterName: ATTR_K8S_CLUSTER_NAME,
  nodeName: ATTR_K8S_NODE_NAME,
  hostName: ATTR_HOST_NAME,
  namespaceName: ATTR_K8S_NAMESPACE_NAME,
  podName: ATTR_K8S_POD_NAME,
  podUid: ATTR_K8S_POD_UID,
  containerName: ATTR_K8S_CONTAINER_NAME,
  containerId: ATTR_CONTAINER_ID,
  containerRuntimeName: ATTR_CONTAINER_RUNTIME_NAME,
  imageName: ATTR_CONTAINER_IMAGE_NAME,
  imageTags: ATTR_CONTAINER_IMAGE_TAGS,
  imageRepoDigests: ATTR_CONTAINER_IMAGE_REPO_DIGESTS,
  podLabel: ATTR_K8S_POD_LABEL,
} as const;

/** Owner kind (KubeArmor's Owner.Ref) → the resource attribute naming that owner. */
export const OWNER_ATTR: Readonly<Record<string, string>> = {
  Deployment: ATTR_K8S_DEPLOYMENT_NAME,
  StatefulSet: ATTR_K8S_STATEFULSET_NAME,
  DaemonSet: ATTR_K8S_DAEMONSET_NAME,
  ReplicaSet: ATTR_K8S_REPLICASET_NAME,
  Job: ATTR_K8S_JOB_NAME,
  CronJob: ATTR_K8S_CRONJOB_NAME,
};

export const ATTR = {
  eventName: ATTR_EVENT_NAME,
  pid: ATTR_PROCESS_PID,
  vpid: ATTR_PROCESS_VPID,
  parentPid: ATTR_PROCESS_PARENT_PID,
  exePath: ATTR_PROCESS_EXECUTABLE_PATH,
  exeName: ATTR_PROCESS_EXECUTABLE_NAME,
  userId: ATTR_PROCESS_USER_ID,
  realUserId: ATTR_PROCESS_REAL_USER_ID,
  cwd: ATTR_PROCESS_WORKING_DIRECTORY,
  filePath: ATTR_FILE_PATH,
  networkTransport: ATTR_NETWORK_TRANSPORT,
  networkType: ATTR_NETWORK_TYPE,
  peerAddress: ATTR_NETWORK_PEER_ADDRESS,
  peerPort: ATTR_NETWORK_PEER_PORT,
  localAddress: ATTR_NETWORK_LOCAL_ADDRESS,
  localPort: ATTR_NETWORK_LOCAL_PORT,
  serverAddress: ATTR_SERVER_ADDRESS,
  serverPort: ATTR_SERVER_PORT,
  clientAddress: ATTR_CLIENT_ADDRESS,
  clientPort: ATTR_CLIENT_PORT,
  commandArgs: ATTR_PROCESS_COMMAND_ARGS,
  argsCount: ATTR_PROCESS_ARGS_COUNT,
  ruleName: ATTR_SECURITY_RULE_NAME,
  ruleDescription: ATTR_SECURITY_RULE_DESCRIPTION,
  rulesetName: ATTR_SECURITY_RULE_RULESET_NAME,
  type: `${CUSTOM_NAMESPACE}.type`,
  severity: `${CUSTOM_NAMESPACE}.severity`,
  tags: `${CUSTOM_NAMESPACE}.tags`,
  atags: `${CUSTOM_NAMESPACE}.atags`,
  source: `${CUSTOM_NAMESPACE}.source`,
  operation: `${CUSTOM_NAMESPACE}.operation`,
  action: `${CUSTOM_NAMESPACE}.action`,
  result: `${CUSTOM_NAMESPACE}.result`,
  enforcer: `${CUSTOM_NAMESPACE}.enforcer`,
  data: `${CUSTOM_NAMESPACE}.data`,
  syscall: `${CUSTOM_NAMESPACE}.syscall`,
  dirfd: `${CUSTOM_NAMESPACE}.dirfd`,
  flags: `${CUSTOM_NAMESPACE}.flags`,
  ppid: `${CUSTOM_NAMESPACE}.ppid`,
  tty: `${CUSTOM_NAMESPACE}.tty`,
  argsTruncated: `${CUSTOM_NAMESPACE}.args_truncated`,
  parentProcessName: `${CUSTOM_NAMESPACE}.parent_process_name`,
  resolvedResource: `${CUSTOM_NAMESPACE}.resolved_resource`,
  hostResource: `${CUSTOM_NAMESPACE}.host_resource`,
  matchedResource: `${CUSTOM_NAMESPACE}.matched_resource`,
  otherPolicies: `${CUSTOM_NAMESPACE}.other_policies`,
  socketDomain: `${CUSTOM_NAMESPACE}.socket.domain`,
  socketType: `${CUSTOM_NAMESPACE}.socket.type`,
  socketProtocol: `${CUSTOM_NAMESPACE}.socket.protocol`,
  socketFd: `${CUSTOM_NAMESPACE}.socket.fd`,
  throttlePhase: 'armorwatch.throttle.phase',
  throttleSuppressed: 'armorwatch.throttle.suppressed',
  throttleByPolicy: 'armorwatch.throttle.suppressed_by_policy',
  // Datadog's (src/export/datadog.ts), only with --datadog-attributes / --datadog-source / --datadog-tags.
  commandLine: ATTR_PROCESS_COMMAND_LINE,
  tagsJoined: `${CUSTOM_NAMESPACE}.tags_joined`,
  atagsJoined: `${CUSTOM_NAMESPACE}.atags_joined`,
  otherPoliciesJoined: `${CUSTOM_NAMESPACE}.other_policies_joined`,
  throttleByPolicyJoined: 'armorwatch.throttle.suppressed_by_policy_joined',
  ddtags: 'ddtags',
  ddsource: 'ddsource',
  datadogLogSource: 'datadog.log.source',
} as const;

export interface MappingRow {
  readonly name: string;
  readonly where: 'resource' | 'record';
  /** The KubeArmor alert field of the same match (or fields), or a dash for the agent's own facts. */
  readonly from: string;
  readonly type: 'string' | 'int' | 'string[]' | 'int[]' | 'boolean';
  readonly note: string;
  /** Set when only matches of this event kind carry it (file: File and Syscall matches; process: Process matches; network: Network matches; throttle: throttling notices; scan: port-scan records). */
  readonly only?: 'file' | 'process' | 'network' | 'throttle' | 'scan';
  /** Set when only this option (or these) puts it on the record; off by default. */
  readonly option?: string;
}

/** The documented mapping. docs/OTEL.md's table is rendered from this (test/export/docs.test.ts). */
export const MAPPING: readonly MappingRow[] = [
  { name: RES.serviceName, where: 'resource', from: '—', type: 'string', note: '`armorwatch` unless --service-name / OTEL_SERVICE_NAME says otherwise' },
  { name: RES.serviceVersion, where: 'resource', from: '—', type: 'string', note: "the agent's version" },
  { name: RES.serviceInstanceId, where: 'resource', from: '—', type: 'string', note: 'UUID v5 (semconv namespace) of `<k8s.cluster.name>/<k8s.node.name>/<service.name>`: one agent per node, the same across restarts; a `service.instance.id` in --resource-attributes / OTEL_RESOURCE_ATTRIBUTES replaces it' },
  { name: RES.clusterName, where: 'resource', from: 'ClusterName', type: 'string', note: '--cluster-name, `default` when unset' },
  { name: RES.nodeName, where: 'resource', from: 'HostName', type: 'string', note: '' },
  { name: RES.hostName, where: 'resource', from: 'HostName', type: 'string', note: '' },
  { name: RES.namespaceName, where: 'resource', from: 'NamespaceName', type: 'string', note: 'container events only' },
  { name: RES.podName, where: 'resource', from: 'PodName', type: 'string', note: 'container events only' },
  { name: RES.podUid, where: 'resource', from: '— (Workload.podUid)', type: 'string', note: 'container events only, when the enricher knows it (KubeArmor alerts have no pod uid)' },
  { name: RES.containerName, where: 'resource', from: 'ContainerName', type: 'string', note: 'container events only' },
  { name: RES.containerId, where: 'resource', from: 'ContainerID', type: 'string', note: 'the full 64-hex id' },
  { name: RES.containerRuntimeName, where: 'resource', from: '—', type: 'string', note: `\`${CONTAINER_RUNTIME}\`, container events only` },
  { name: RES.imageName, where: 'resource', from: 'ContainerImage', type: 'string', note: 'the repository part of `repo:tag@sha256:…`' },
  { name: RES.imageTags, where: 'resource', from: 'ContainerImage', type: 'string[]', note: 'the tag, when present' },
  { name: RES.imageRepoDigests, where: 'resource', from: 'ContainerImage', type: 'string[]', note: '`repo@sha256:…`, when a digest is present' },
  ...Object.entries(OWNER_ATTR).map(([kind, name]): MappingRow => ({
    name, where: 'resource', from: 'Owner', type: 'string', note: `Owner.Name when Owner.Ref is ${kind}`,
  })),
  { name: RES.podLabel('<key>'), where: 'resource', from: 'Labels', type: 'string', note: 'one attribute per pod label' },
  { name: ATTR.eventName, where: 'record', from: '—', type: 'string', note: `deprecated, only with --event-name-attribute: \`${EVENT_POLICY_MATCH}\` (throttling notices: \`${EVENT_ALERT_THROTTLE}\`, port-scan records: \`${EVENT_SCAN_EPISODE}\`), the record's EventName again (for backends that drop EventName)` },
  { name: ATTR.pid, where: 'record', from: 'HostPID', type: 'int', note: '' },
  { name: ATTR.vpid, where: 'record', from: 'PID', type: 'int', note: "pid inside the container's pid namespace" },
  { name: ATTR.parentPid, where: 'record', from: 'HostPPID', type: 'int', note: '' },
  { name: ATTR.exePath, where: 'record', from: 'ProcessName', type: 'string', note: 'for an execution: the executed file' },
  { name: ATTR.exeName, where: 'record', from: 'ProcessName', type: 'string', note: 'last path segment' },
  { name: ATTR.userId, where: 'record', from: '—', type: 'int', note: 'the effective uid, the one permission checks use (after a setuid program: its owner)' },
  { name: ATTR.realUserId, where: 'record', from: 'UID', type: 'int', note: 'the real uid, the user who started the process' },
  { name: ATTR.cwd, where: 'record', from: 'Cwd', type: 'string', note: 'when known' },
  { name: ATTR.filePath, where: 'record', from: 'Resource', type: 'string', note: 'the requested path, made absolute', only: 'file' },
  { name: ATTR.commandArgs, where: 'record', from: 'Resource', type: 'string[]', note: 'argv as the program received it, argv[0] first', only: 'process' },
  { name: ATTR.argsCount, where: 'record', from: '—', type: 'int', note: 'number of arguments reported', only: 'process' },
  { name: ATTR.networkTransport, where: 'record', from: 'Resource (protocol)', type: 'string', note: '`tcp`, `udp`, `unix`, or the IP protocol in lower case (`icmp`, `icmpv6`, `sctp`, `raw`)', only: 'network' },
  { name: ATTR.networkType, where: 'record', from: 'Resource (domain)', type: 'string', note: '`ipv4` or `ipv6` (an IPv4-mapped IPv6 address is ipv4); IP sockets only', only: 'network' },
  { name: ATTR.peerAddress, where: 'record', from: 'Resource (remoteip)', type: 'string', note: 'connect: the address connected to; accept: the client; an IPv4-mapped address as IPv4, a unix socket as its path', only: 'network' },
  { name: ATTR.peerPort, where: 'record', from: 'Resource (port)', type: 'int', note: 'with network.peer.address, IP only', only: 'network' },
  { name: ATTR.serverAddress, where: 'record', from: 'Resource (remoteip)', type: 'string', note: 'connect: the peer (the process is the client); accept: the listening address, when known', only: 'network' },
  { name: ATTR.serverPort, where: 'record', from: 'Resource (port)', type: 'int', note: 'with server.address', only: 'network' },
  { name: ATTR.clientAddress, where: 'record', from: 'Resource (remoteip)', type: 'string', note: 'accept: the peer that connected', only: 'network' },
  { name: ATTR.clientPort, where: 'record', from: 'Resource (port)', type: 'int', note: 'with client.address', only: 'network' },
  { name: ATTR.localAddress, where: 'record', from: 'Resource (localip)', type: 'string', note: 'bind: the address bound; listen/accept: the listening address, when known', only: 'network' },
  { name: ATTR.localPort, where: 'record', from: 'Resource (port)', type: 'int', note: 'with network.local.address', only: 'network' },
  { name: ATTR.socketDomain, where: 'record', from: 'Resource (domain)', type: 'string', note: 'the socket\'s family, `AF_INET`, `AF_INET6`, `AF_PACKET`, ...', only: 'network' },
  { name: ATTR.socketType, where: 'record', from: 'Resource (type)', type: 'string', note: '`SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_RAW`, ...', only: 'network' },
  { name: ATTR.socketProtocol, where: 'record', from: 'Resource (protocol)', type: 'string', note: '`TCP`, `UDP`, `ICMP`, `ICMPv6`, ... as KubeArmor prints it', only: 'network' },
  { name: ATTR.socketFd, where: 'record', from: 'Data (fd)', type: 'int', note: 'the socket\'s file descriptor (socket(): the one it returned), when known', only: 'network' },
  { name: ATTR.ruleName, where: 'record', from: 'PolicyName', type: 'string', note: '' },
  { name: ATTR.ruleDescription, where: 'record', from: 'Message', type: 'string', note: 'when the policy has a message' },
  { name: ATTR.rulesetName, where: 'record', from: 'PolicyKind', type: 'string', note: 'KubeArmorPolicy, KubeArmorClusterPolicy, KubeArmorHostPolicy or DefaultPosture' },
  { name: ATTR.type, where: 'record', from: 'Type', type: 'string', note: `MatchedPolicy or MatchedHostPolicy; \`AlertThreshold\` on throttling notices; \`${SCAN_TYPE}\` on port-scan records (security_rule.name \`${SCAN_POLICY_NAME}\`)` },
  { name: ATTR.severity, where: 'record', from: 'Severity', type: 'int', note: 'policy severity 1–10 (none for DefaultPosture)' },
  { name: ATTR.tags, where: 'record', from: 'Tags', type: 'string[]', note: "the policy's tags" },
  { name: ATTR.atags, where: 'record', from: 'ATags', type: 'string[]', note: '' },
  { name: ATTR.source, where: 'record', from: 'Source', type: 'string', note: 'for an execution: the executable that called exec' },
  { name: ATTR.operation, where: 'record', from: 'Operation', type: 'string', note: '`File`, `Process`, `Network` or `Syscall`' },
  { name: ATTR.action, where: 'record', from: 'Action', type: 'string', note: '`Audit` or `Audit (Block)`' },
  { name: ATTR.result, where: 'record', from: 'Result', type: 'string', note: '`Passed` or the error text' },
  { name: ATTR.enforcer, where: 'record', from: 'Enforcer', type: 'string', note: '`eBPF Monitor`' },
  { name: ATTR.data, where: 'record', from: 'Data', type: 'string', note: 'as KubeArmor prints it' },
  { name: ATTR.syscall, where: 'record', from: 'Syscall', type: 'string', note: 'e.g. `SYS_OPENAT` (part of Data)' },
  { name: ATTR.dirfd, where: 'record', from: 'Dirfd', type: 'int', note: 'when the call has one; -100 is AT_FDCWD (part of Data)' },
  { name: ATTR.flags, where: 'record', from: 'Flags', type: 'string', note: 'e.g. `O_RDONLY|O_CLOEXEC` (part of Data)' },
  { name: ATTR.ppid, where: 'record', from: 'PPID', type: 'int', note: "parent pid inside the container's pid namespace" },
  { name: ATTR.parentProcessName, where: 'record', from: 'ParentProcessName', type: 'string', note: '' },
  { name: ATTR.tty, where: 'record', from: 'TTY', type: 'string', note: 'controlling terminal (`pts0`), when the process has one' },
  { name: ATTR.argsTruncated, where: 'record', from: 'ArgsTruncated', type: 'boolean', note: 'true when arguments were cut to 20 of 104 bytes', only: 'process' },
  { name: ATTR.resolvedResource, where: 'record', from: 'ResolvedResource', type: 'string', note: 'the path the kernel opened or ran, when it differs from the requested one' },
  { name: ATTR.hostResource, where: 'record', from: 'HostResource', type: 'string', note: "the opened file's path from the root of the process's mount namespace, when it differs (chroot)" },
  { name: ATTR.matchedResource, where: 'record', from: 'MatchedResource', type: 'string', note: 'the rule path the file was matched under by identity (hard link, bind mount, chroot, other mount namespace), when it is none of the paths above' },
  { name: ATTR.otherPolicies, where: 'record', from: 'OtherPolicies', type: 'string[]', note: 'other policies that matched the same access' },
  { name: ATTR.throttlePhase, where: 'record', from: 'Throttle.Phase', type: 'string', note: '`started` or `ended`', only: 'throttle' },
  { name: ATTR.throttleSuppressed, where: 'record', from: 'Throttle.SuppressedTotal', type: 'int', note: '`ended` notices: alerts of this container suppressed in the quiet period', only: 'throttle' },
  { name: ATTR.throttleByPolicy, where: 'record', from: 'Throttle.Suppressed', type: 'string[]', note: '`ended` notices: `policy=count` per policy, most first', only: 'throttle' },
  { name: ATTR.commandLine, where: 'record', from: 'Resource', type: 'string', note: '`process.command_args` joined by spaces (Datadog shows arrays as JSON text)', only: 'process', option: '--datadog-attributes' },
  { name: ATTR.tagsJoined, where: 'record', from: 'Tags', type: 'string', note: '`kubearmor.tags` joined by commas', option: '--datadog-attributes' },
  { name: ATTR.atagsJoined, where: 'record', from: 'ATags', type: 'string', note: '`kubearmor.atags` joined by commas', option: '--datadog-attributes' },
  { name: ATTR.otherPoliciesJoined, where: 'record', from: 'OtherPolicies', type: 'string', note: '`kubearmor.other_policies` joined by commas', option: '--datadog-attributes' },
  { name: ATTR.throttleByPolicyJoined, where: 'record', from: 'Throttle.Suppressed', type: 'string', note: '`armorwatch.throttle.suppressed_by_policy` joined by commas', only: 'throttle', option: '--datadog-attributes' },
  { name: ATTR.ddtags, where: 'record', from: 'Tags', type: 'string', note: 'Datadog tags, comma-separated: the --datadog-tags, then with --datadog-attributes one `kubearmor_tag:<tag>` per policy tag (lower case, other characters than letters, digits and `_-:./` as `_`); Datadog adds them to the log\'s tags', option: '--datadog-tags or --datadog-attributes' },
  { name: ATTR.ddsource, where: 'record', from: '—', type: 'string', note: 'the --datadog-source; the datadog exporter sends it as the log\'s source', option: '--datadog-source' },
  { name: ATTR.datadogLogSource, where: 'record', from: '—', type: 'string', note: 'the --datadog-source; the Datadog Agent\'s OTLP intake reads the log\'s source from it', option: '--datadog-source' },
  ...SCAN_MAPPING,
];
