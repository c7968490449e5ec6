// Liveness and readiness over plain HTTP for the kubelet's probes: GET /healthz answers 200 while
// the agent's event loop runs and its monitor is alive; GET /readyz answers 200 once the eBPF
// programs are attached and the first policy load is done, 503 with the reason otherwise.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthAddr } from '../config/types.ts';
import { ArmorwatchError } from '../errors.ts';

// Not `import ... from 'node:http'`: Node 24 builds an ES module namespace of node:http by reading
// every export, and one of them is a lazy getter that loads the bundled undici (fetch, WebSocket),
// which the agent never uses, into its idle memory.
const { createServer } = process.getBuiltinModule('node:http');

export interface HealthProbe {
  /** Null when live, else why not. */
  live(): string | null;
  /** Null when ready, else why not. */
  ready(): string | null;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Further GET routes served on the same address (e.g. /metrics), by path. */
export type ExtraRoutes = Readonly<Record<string, (req: IncomingMessage, res: ServerResponse) => void>>;

export async function startHealthServer(addr: HealthAddr, probe: HealthProbe, routes: ExtraRoutes = {}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const extra = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (extra !== undefined && (req.method === 'GET' || req.method === 'HEAD')) { extra(req, res); return; }
    const check = path === '/healthz' ? probe.live : path === '/readyz' ? probe.ready : undefined;
    if (check === undefined && extra === undefined) { res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${['/healthz', '/readyz', ...Object.keys(routes)].join(', ')}\n`); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { allow: 'GET, HEAD' }).end(); return; }
    if (check === undefined) return;
    const why = check.call(probe);
    res.writeHead(why === null ? 200 : 503, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : `${why ?? 'ok'}\n`);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ArmorwatchError('AW_HEALTH_LISTEN',
      `health server cannot listen on ${addr.host}:${addr.port} (${err.code ?? err.message}); set --health-addr / ARMORWATCH_HEALTH_ADDR, or off`)));
    server.listen(addr.port, addr.host, () => resolve());
  });
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
