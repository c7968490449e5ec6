// The agent's own log lines as Loki and Datadog read them: a string level and an ISO 8601 time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { loggerOptions } from '../src/log.ts';

test('log lines carry "level":"warn" (not 40) and an ISO 8601 UTC time', () => {
  const lines: string[] = [];
  const log = pino(loggerOptions('info'), { write: (s: string) => { lines.push(s); } });
  const before = Date.now();
  log.warn({ file: '/p/a.yaml' }, 'policy rejected');
  log.debug('not at info');
  log.child({ component: 'export' }).error('export failed');
  assert.equal(lines.length, 2);
  const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(a!.level, 'warn');
  assert.equal(b!.level, 'error');
  assert.equal(b!.component, 'export');
  assert.equal(a!.name, 'armorwatch');
  assert.match(String(a!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(String(a!.time)) - before) < 5000);
});
