// The incubating semantic-convention names armorwatch spells itself must be the package's own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { ATTR_K8S_POD_LABEL, INCUBATING } from '../../src/export/attributes.ts';

test('every incubating name equals @opentelemetry/semantic-conventions/incubating of the pinned release', () => {
  const pkg = incubating as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(INCUBATING)) assert.equal(value, pkg[name], name);
  assert.equal(ATTR_K8S_POD_LABEL('app'), incubating.ATTR_K8S_POD_LABEL('app'));
});
