// The kubelet's probes: /healthz while live, /readyz only once ready, 503 with the reason otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArmorwatchError } from '../../src/errors.ts';
import { connect, type Socket } from 'node:net';
import { startHealthServer } from '../../src/health/server.ts';

test('liveness and readiness answer from the probe, with the reason when not', async () => {
  let ready: string | null = 'policies not loaded yet';
  let live: string | null = null;
  const s = await startHealthServer({ host: '127.0.0.1', port: 0 }, { live: () => live, ready: () => ready, detail: () => ['policies: 0 in force', 'monitor: not attached'] });
  try {
    const get = async (path: string, method = 'GET') => {
      const r = await fetch(`http://127.0.0.1:${s.port}${path}`, { method });
      return [r.status, await r.text()] as const;
    };
    assert.deepEqual(await get('/healthz'), [200, 'ok\n']);
    assert.deepEqual(await get('/readyz'), [503, 'policies not loaded yet\n']);
    ready = null;
    assert.deepEqual(await get('/readyz'), [200, 'ok\n']);
    assert.deepEqual(await get('/readyz?x=1'), [200, 'ok\n']);
    assert.deepEqual(await get('/readyz?verbose'), [200, 'ok\npolicies: 0 in force\nmonitor: not attached\n']);
    assert.deepEqual(await get('/readyz?verbose=1'), [200, 'ok\npolicies: 0 in force\nmonitor: not attached\n']);
    live = 'file monitor stopped';
    assert.deepEqual(await get('/healthz'), [503, 'file monitor stopped\n']);
    assert.deepEqual(await get('/nope'), [404, 'not found: try /healthz, /readyz\n']);
    assert.equal((await get('/healthz', 'POST'))[0], 405);
    assert.equal((await get('/healthz', 'HEAD'))[0], 503);
  } finally {
    await s.close();
  }
});

test('extra routes (/metrics) are served for GET and HEAD and listed in the 404 answer', async () => {
  const s = await startHealthServer({ host: '127.0.0.1', port: 0 }, { live: () => null, ready: () => null },
    { routes: { '/metrics': (req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }).end(req.method === 'HEAD' ? undefined : 'up 1\n'); } } });
  try {
    const r = await fetch(`http://127.0.0.1:${s.port}/metrics?x=1`);
    assert.deepEqual([r.status, await r.text()], [200, 'up 1\n']);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/metrics`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/metrics`, { method: 'DELETE' })).status, 405);
    const nf = await fetch(`http://127.0.0.1:${s.port}/toString`);
    assert.deepEqual([nf.status, await nf.text()], [404, 'not found: try /healthz, /readyz, /metrics\n']);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status, 200);
  } finally {
    await s.close();
  }
});

test('a port in use is a clear error naming the address and the setting', async () => {
  const a = await startHealthServer({ host: '127.0.0.1', port: 0 }, { live: () => null, ready: () => null });
  try {
    await assert.rejects(startHealthServer({ host: '127.0.0.1', port: a.port }, { live: () => null, ready: () => null }),
      (err: unknown) => err instanceof ArmorwatchError && err.code === 'AW_HEALTH_LISTEN' && err.message.includes(`127.0.0.1:${a.port}`) && err.message.includes('--health-addr'));
  } finally {
    await a.close();
  }
});

test('idle connections are capped and dropped: 300 silent sockets cannot pile up, probes still answer', async () => {
  const s = await startHealthServer({ host: '127.0.0.1', port: 0 }, { live: () => null, ready: () => null }, { limits: { maxConnections: 16, idleMs: 1500 } });
  const sockets: Socket[] = [];
  try {
    let closedByServer = 0;
    await Promise.all(Array.from({ length: 300 }, () => new Promise<void>((resolve) => {
      const c = connect(s.port, '127.0.0.1', () => resolve());
      c.on('error', () => resolve());
      c.on('close', () => { closedByServer++; });
      sockets.push(c);
    })));
    // Past the cap, connections are closed on arrival; the rest once they have been idle too long.
    for (const until = Date.now() + 15_000; closedByServer < 300 && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
    assert.equal(closedByServer, 300, 'every silent connection was closed by the server');
    const r = await fetch(`http://127.0.0.1:${s.port}/healthz`);
    assert.equal(r.status, 200);
  } finally {
    for (const c of sockets) c.destroy();
    await s.close();
  }
});
