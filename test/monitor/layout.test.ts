// The decoder's hand-written table against what the C compiler made of bpf/armorwatch_event.h.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { defaultHelperPath } from '../../src/monitor/preflight.ts';
import { EVENT_FIELDS, EVENT_HEADER_SIZE, EV_FLAGS, NET_CALL_BITS, PATH_MAX, SOCKADDR_MAX, STR_COUNT, STR_SLOTS } from '../../src/monitor/layout.ts';
import { EXEC_MAX_ARGS, EXEC_MAX_ARG_LEN } from '../../src/types.ts';

interface CLayout {
  size: number; strCount: number; pathMax: number;
  fields: Record<string, [number, number]>;
  slots: Record<string, number>;
  evFlags: Record<string, number>;
  argsMax: number;
  argMax: number;
  sockaddrMax: number;
  netCalls: Record<string, number>;
}

function cLayout(): CLayout {
  const helper = defaultHelperPath();
  assert.ok(existsSync(helper), `${helper} is not built: run make -C native`);
  return JSON.parse(execFileSync(helper, ['--print-layout'], { encoding: 'utf8' })) as CLayout;
}

test('every field of struct aw_event has the decoder\'s offset and size', () => {
  const c = cLayout();
  assert.deepEqual(c.fields, Object.fromEntries(Object.entries(EVENT_FIELDS).map(([k, v]) => [k, [...v]])));
  assert.equal(c.size, EVENT_HEADER_SIZE);
});

test('string slots, their count, PATH_MAX and event flag bits agree', () => {
  const c = cLayout();
  assert.equal(c.strCount, STR_COUNT);
  assert.equal(c.pathMax, PATH_MAX);
  assert.deepEqual(c.slots, { ...STR_SLOTS });
  assert.deepEqual(c.evFlags, { ...EV_FLAGS });
});

test('the kernel caps arguments as ExecEvent says (KubeArmor\'s 20 of 104 bytes)', () => {
  const c = cLayout();
  assert.deepEqual([c.argsMax, c.argMax], [EXEC_MAX_ARGS, EXEC_MAX_ARG_LEN]);
});

test('network events: the socket-address cap and the call bits of the kernel filter agree', () => {
  const c = cLayout();
  assert.equal(c.sockaddrMax, SOCKADDR_MAX);
  assert.deepEqual(c.netCalls, { ...NET_CALL_BITS });
});
