// Every Collector pipeline in otel-collector/examples/ that the project's Collector build can run is
// checked by that Collector's own `validate`; the README of every example says truthfully whether
// it is checked, and names what is missing when it is not.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const examplesDir = join(root, 'otel-collector/examples');

// First build on a fresh machine compiles the Collector from Go modules: minutes on 2 cores.
const BUILD_TIMEOUT_MS = 30 * 60_000;

interface Example {
  readonly name: string;
  readonly readme: string;
  /** Collector configurations (files with receivers, exporters and service.pipelines). */
  readonly configs: ReadonlyArray<{ file: string; config: Record<string, unknown> }>;
}

function loadExamples(): Example[] {
  return readdirSync(examplesDir).filter((d) => statSync(join(examplesDir, d)).isDirectory()).sort().map((name) => {
    const dir = join(examplesDir, name);
    const configs = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => ({
      file: join(dir, f),
      config: parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>,
    })).filter(({ config }) => config?.receivers !== undefined && config?.exporters !== undefined
      && (config.service as { pipelines?: unknown } | undefined)?.pipelines !== undefined);
    return { name, readme: readFileSync(join(dir, 'README.md'), 'utf8'), configs };
  });
}

/** Validates with an environment holding no deployment variables, so defaults must suffice. */
function validate(bin: string, file: string): { ok: boolean; output: string } {
  const r = spawnSync(bin, ['validate', '--config', file], {
    encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' }, timeout: 60_000,
  });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

const examples = loadExamples();
let otelcol = '';

describe('otel-collector/examples', () => {
  before(() => {
    otelcol = execFileSync('bash', [join(root, 'otel-collector/build.sh')], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: BUILD_TIMEOUT_MS,
    }).trim().split('\n').at(-1)!;
  }, { timeout: BUILD_TIMEOUT_MS });

  test('there are examples for Loki, Honeycomb, Datadog and Fluent Bit', () => {
    const names = examples.map((e) => e.name);
    for (const want of ['loki', 'honeycomb', 'datadog-agent', 'datadog-exporter', 'fluent-bit']) {
      assert.ok(names.includes(want), `no example ${want}`);
    }
  });

  for (const ex of examples) {
    test(`${ex.name}: validates when the build has its components, and its README says which it is`, () => {
      // The Collector itself decides what it has (it knows aliases such as otlp → otlp_grpc): a
      // configuration either validates, or fails only because a component type is unknown.
      const missing = new Set<string>();
      for (const { file } of ex.configs) {
        const r = validate(otelcol, file);
        if (r.ok) continue;
        const unknown = [...r.output.matchAll(/unknown type: "([\w-]+)"/g)].map((m) => m[1]!);
        assert.ok(unknown.length > 0, `otelcol validate --config ${file} failed:\n${r.output}`);
        for (const type of unknown) missing.add(type);
      }
      if (ex.configs.length > 0 && missing.size === 0) {
        assert.match(ex.readme, /\*\*Checked\*\*/, `${ex.name}/README.md should say it is checked`);
      } else {
        assert.match(ex.readme, /\*\*Unchecked\*\*/, `${ex.name}/README.md must say it is unchecked`);
        for (const type of missing) {
          assert.ok(ex.readme.includes(`\`${type}\``), `${ex.name}/README.md should name the missing component \`${type}\``);
        }
      }
    });
  }

  test('validate rejects a configuration with a misspelt field (the check is real)', () => {
    const ex = examples.find((e) => e.name === 'loki')!;
    const text = readFileSync(ex.configs[0]!.file, 'utf8');
    assert.match(text, /send_batch_size:/);
    const dir = mkdtempSync(join(tmpdir(), 'aw-otelcol-'));
    try {
      const bad = join(dir, 'config.yaml');
      writeFileSync(bad, text.replace('send_batch_size:', 'send_batch_sise:'));
      const r = validate(otelcol, bad);
      assert.equal(r.ok, false);
      assert.match(r.output, /send_batch_sise/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
