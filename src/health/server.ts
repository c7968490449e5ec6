// Liveness and readiness over plain HTTP for the kubelet's probes: GET /healthz answers 200 while
// the agent's event loop runs and its monitor is alive; GET /readyz answers 200 once the eBPF
// programs are attached and policies are in force, 503 with the reason otherwise (see
// docs/TROUBLESHOOTING.md). `?verbose` adds the detail lines (policy folders, helper heartbeat).
// The server is bounded: a few connections at a time, each dropped unless it sends a request soon.
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
  /** Lines describing the state (`?verbose`), e.g. "policies: 3 in force from 2 files". */
  detail?(): readonly string[];
}

export interface HealthLimits {
  /** Connections served at once; more are closed on arrival. */
  readonly maxConnections: number;
  /** A connection must send its request headers within this time, and idles at most this long. */
  readonly idleMs: number;
}

export const DEFAULT_HEALTH_LIMITS: HealthLimits = { maxConnections: 32, idleMs: 5000 };

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Further GET routes served on the same address (e.g. /metrics), by path. */
export type ExtraRoutes = Readonly<Record<string, (req: IncomingMessage, res: ServerResponse) => void>>;

export interface HealthOptions {
  readonly routes?: ExtraRoutes;
  readonly limits?: HealthLimits;
}

export async function startHealthServer(addr: HealthAddr, probe: HealthProbe, options: HealthOptions = {}): Promise<HealthServer> {
  const routes = options.routes ?? {};
  const limits = options.limits ?? DEFAULT_HEALTH_LIMITS;
  const server: Server = createServer({
    headersTimeout: limits.idleMs, requestTimeout: limits.idleMs, keepAliveTimeout: limits.idleMs,
    connectionsCheckingInterval: Math.min(1000, limits.idleMs),
  }, (req, res) => {
    const [path = '/', query] = (req.url ?? '/').split('?');
    const extra = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const check = path === '/healthz' ? probe.live : path === '/readyz' ? probe.ready : undefined;
    if (check === undefined && extra === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${['/healthz', '/readyz', ...Object.keys(routes)].join(', ')}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { allow: 'GET, HEAD' }).end(); return; }
    if (extra !== undefined) { extra(req, res); return; }
    if (check === undefined) return;
    const why = check.call(probe);
    const verbose = query !== undefined && /(^|&)verbose(=|&|$)/.test(query);
    const detail = verbose && probe.detail !== undefined ? probe.detail().map((l) => `${l}\n`).join('') : '';
    res.writeHead(why === null ? 200 : 503, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : `${why ?? 'ok'}\n${detail}`);
  });
  // Idle connections cost memory that is never returned: a handful is all a kubelet needs.
  server.maxConnections = limits.maxConnections;
  // A connection that never sends a byte is not covered by the header timeout: an idle socket timeout is.
  server.timeout = limits.idleMs;
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
