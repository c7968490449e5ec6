// The API server's reading of YAML scalars (go-yaml v2): the word lists of YAML 1.1 in every case
// spelling, numbers in each notation, and the JSON keys made of non-string keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterInteger, clusterKey, resolvePlain } from '../../src/policy/cluster-yaml.ts';

/** All upper/lower case spellings of a word. */
function spellings(word: string): string[] {
  let out = [''];
  for (const c of word) out = out.flatMap((p) => (c.toLowerCase() === c.toUpperCase() ? [p + c] : [p + c.toLowerCase(), p + c.toUpperCase()]));
  return out;
}

test('booleans and nulls: exactly the spellings YAML 1.1 lists (lower, Capitalised, UPPER), no others', () => {
  // From the YAML 1.1 bool and null type definitions.
  const TRUE = ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'];
  const FALSE = ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'];
  const NULL = ['~', 'null', 'Null', 'NULL'];
  for (const word of ['y', 'yes', 'true', 'on', 'n', 'no', 'false', 'off', 'null']) {
    for (const s of spellings(word)) {
      const r = resolvePlain(s);
      const want = TRUE.includes(s) ? { t: 'bool', value: true } : FALSE.includes(s) ? { t: 'bool', value: false } : NULL.includes(s) ? { t: 'null' } : { t: 'string', value: s };
      assert.deepEqual(r, want, s);
    }
  }
  assert.deepEqual(resolvePlain('~'), { t: 'null' });
  assert.deepEqual(resolvePlain(''), { t: 'null' });
});

test('numbers: Go syntax after dropping underscores; floats that JSON carries as integers', () => {
  const ints: Array<[string, bigint]> = [
    ['010', 8n], ['0o10', 8n], ['0O10', 8n], ['0x1F', 31n], ['0X1f', 31n], ['0b101', 5n], ['0B101', 5n], ['-0b101', -5n],
    ['0b-1', -1n], ['1_000', 1000n], ['1__0_', 10n], ['+3', 3n], ['-3', -3n], ['0', 0n], ['00', 0n], ['-010', -8n],
    ['9223372036854775807', 9223372036854775807n], ['-9223372036854775808', -9223372036854775808n],
  ];
  for (const [s, v] of ints) {
    const r = resolvePlain(s);
    assert.equal(r.t, 'int', s);
    assert.equal(clusterInteger(r), v, s);
  }
  // Past int64: uint64, which JSON turns into a float past 2^53: not an integer to the cluster.
  const big = resolvePlain('9223372036854775808');
  assert.deepEqual(big, { t: 'int', value: 9223372036854775808n, unsigned: true });
  assert.equal(clusterInteger(big), undefined);
  assert.equal(resolvePlain('18446744073709551616').t, 'float');
  for (const [s, v] of [['3.0', 3], ['1.', 1], ['1e1', 10], ['08', 8], ['09.5', 9.5], ['.5', 0.5], ['+.5', 0.5], ['1_000.5', 1000.5], ['.5_5', 0.55]] as const) {
    assert.deepEqual(resolvePlain(s), { t: 'float', value: v }, s);
  }
  assert.equal(clusterInteger(resolvePlain('3.0')), 3n);
  assert.equal(clusterInteger(resolvePlain('3.5')), undefined);
  assert.equal(clusterInteger(resolvePlain('1e300')), undefined);
  for (const s of ['1:30', '190:20:30', '2024-01-01', '2001-12-14t21:59:43.10-05:00', 'e5', '.', '.e5', '0x', '0b2', '0o8', '_1',
    '1e400', '1.2.3', '--1', '+', '0x_', '._5', '.5_', 'inf', '-inf', '+.nan', '.iNf', '<<', 'yes please']) {
    assert.deepEqual(resolvePlain(s), { t: 'string', value: s }, s);
  }
  assert.ok(Number.isNaN((resolvePlain('.NaN') as { value: number }).value));
  assert.deepEqual(resolvePlain('-.INF'), { t: 'float', value: -Infinity });
});

test('map keys become JSON keys as sigs.k8s.io/yaml makes them', () => {
  const key = (s: string) => clusterKey(resolvePlain(s));
  assert.deepEqual(key('on'), { key: 'true' });
  assert.deepEqual(key('N'), { key: 'false' });
  assert.deepEqual(key('010'), { key: '8' });
  assert.deepEqual(key('3.0'), { key: '3' });
  assert.deepEqual(key('3.5'), { key: '3.5' });
  assert.deepEqual(key('1e7'), { key: '1e+07' });
  assert.deepEqual(key('0.1'), { key: '0.1' });
  assert.deepEqual(key('.00001'), { key: '1e-05' });
  assert.deepEqual(key('123456.7'), { key: '123456.7' });
  assert.deepEqual(key('1234567.8'), { key: '1.2345678e+06' });
  assert.deepEqual(key('.inf'), { key: '.inf' });
  assert.deepEqual(key('-.Inf'), { key: '-.inf' });
  assert.deepEqual(key('1e300'), { key: '.inf' }); // through a float32
  assert.ok('error' in key('~'));
  assert.ok('error' in key('18446744073709551615'));
});
