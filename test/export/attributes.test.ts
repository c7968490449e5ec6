// The incubating semantic-convention names armorwatch spells itself must be the package's own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { readFileSync } from 'node:fs';
import { ATTR_K8S_POD_LABEL, INCUBATING, SCHEMA_URL } from '../../src/export/attributes.ts';
import { uuidV5 } from '../../src/export/resource.ts';

test('every incubating name equals @opentelemetry/semantic-conventions/incubating of the pinned release', () => {
  const pkg = incubating as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(INCUBATING)) assert.equal(value, pkg[name], name);
  assert.equal(ATTR_K8S_POD_LABEL('app'), incubating.ATTR_K8S_POD_LABEL('app'));
});

test('the Resource schema_url names the semantic-conventions release of the pinned package', () => {
  const pkg = new URL('../../node_modules/@opentelemetry/semantic-conventions/package.json', import.meta.url);
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
  assert.equal(SCHEMA_URL, `https://opentelemetry.io/schemas/${version}`);
});

test('uuidV5 is RFC 9562 version 5 (the RFC\'s DNS-namespace example)', () => {
  const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
  assert.equal(uuidV5('www.example.com', dns), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
});
