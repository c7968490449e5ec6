// Two network namespaces joined by a veth pair, made with `ip netns` for tests that need a real
// network between a client and a server on one machine: the server side answers on SERVER_IP,
// and on every address of SWEEP_NET (routed to its loopback as local addresses, so a sweep of
// one port over many hosts reaches real listeners).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { killOnExit } from './cleanup.ts';

export const CLIENT_IP = '10.213.0.1';
export const SERVER_IP = '10.213.0.2';
/** Extra server addresses (DNS resolvers). */
export const SERVER_IPS = [SERVER_IP, '10.213.0.3', '10.213.0.4'];
/** The two ends over IPv6 (unique local addresses, without duplicate address detection). */
export const CLIENT_IP6 = 'fd42:213::1';
export const SERVER_IP6 = 'fd42:213::2';
/** A /24 whose every address is local to the server namespace. */
export const SWEEP_NET = '10.214.0';

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }); };

export class NetnsPair {
  readonly client: string;
  readonly server: string;
  readonly #servers: ChildProcess[] = [];

  constructor(tag: string) {
    this.client = `aw-${tag}-cli`;
    this.server = `aw-${tag}-srv`;
  }

  /** Creates both namespaces, the veth pair, addresses and routes; resolv.conf of the client names SERVER_IPS. */
  create(): void {
    this.remove();
    const veth = `aw${process.pid % 100000}`;
    ip('netns', 'add', this.client);
    ip('netns', 'add', this.server);
    ip('link', 'add', `${veth}c`, 'netns', this.client, 'type', 'veth', 'peer', 'name', `${veth}s`, 'netns', this.server);
    ip('-n', this.client, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', `${veth}c`);
    for (const a of SERVER_IPS) ip('-n', this.server, 'addr', 'add', `${a}/24`, 'dev', `${veth}s`);
    ip('-n', this.client, 'addr', 'add', `${CLIENT_IP6}/64`, 'dev', `${veth}c`, 'nodad');
    ip('-n', this.server, 'addr', 'add', `${SERVER_IP6}/64`, 'dev', `${veth}s`, 'nodad');
    for (const ns of [this.client, this.server]) ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', this.client, 'link', 'set', `${veth}c`, 'up');
    ip('-n', this.server, 'link', 'set', `${veth}s`, 'up');
    ip('-n', this.server, 'route', 'add', 'local', `${SWEEP_NET}.0/24`, 'dev', 'lo');
    ip('-n', this.client, 'route', 'add', `${SWEEP_NET}.0/24`, 'via', SERVER_IP);
    // `ip netns exec` bind-mounts /etc/netns/<name>/resolv.conf over /etc/resolv.conf.
    mkdirSync(`/etc/netns/${this.client}`, { recursive: true });
    writeFileSync(`/etc/netns/${this.client}/resolv.conf`, `${SERVER_IPS.map((a) => `nameserver ${a}`).join('\n')}\noptions timeout:1 attempts:1\n`);
  }

  /** Runs a long-lived process in the server namespace (killed by remove()). */
  serve(argv: readonly string[]): ChildProcess {
    const child = killOnExit(spawn('ip', ['netns', 'exec', this.server, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.#servers.push(child);
    return child;
  }

  /** argv to run a command in the client namespace. */
  inClient(argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.client, ...argv];
  }

  remove(): void {
    for (const c of this.#servers.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const ns of [this.client, this.server]) {
      try { ip('netns', 'del', ns); } catch { /* not there */ }
    }
    rmSync(`/etc/netns/${this.client}`, { recursive: true, force: true });
  }
}

/** Node code for the server namespace: TCP listeners on `ports` (every address) and a DNS responder on UDP 53 answering REFUSED. */
export function serverScript(ports: readonly number[]): string {
  return `
const net = require('node:net'); const dgram = require('node:dgram');
let up = 0; const ready = () => { if (++up === ${ports.length + 1}) process.stdout.write('ready\\n'); };
for (const p of ${JSON.stringify(ports)}) net.createServer((s) => { s.on('error', () => {}); s.end(); }).listen(p, '0.0.0.0', ready);
const dns = dgram.createSocket('udp4');
dns.on('message', (m, r) => { if (m.length < 12) return; const a = Buffer.from(m); a[2] = 0x81; a[3] = 0x85; dns.send(a, r.port, r.address); });
dns.bind(53, '0.0.0.0', ready);
`;
}
