// Property-based checks of path, directory and glob matching against slow, obviously-correct
// reference implementations, and of the kernel filter's invariant (never passes less than the rules need).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePolicies } from '../../src/policy/engine.ts';
import { compileGlob, requiredLiteral } from '../../src/policy/glob.ts';
import type { KernelFilterSpec } from '../../src/types.ts';
import { event, ksp, NODE, policies, WEB } from './helpers.ts';

/** Reference glob: backtracking over characters; `*`,`?`,`[ab]` never match '/'; `**` matches anything; a whole `**​/` segment may match nothing. */
function refGlob(p: string, s: string, i = 0, j = 0): boolean {
  if (i === p.length) return j === s.length;
  if (p.startsWith('**', i)) {
    let k = i;
    while (p[k] === '*') k++;
    if ((i === 0 || p[i - 1] === '/') && p[k] === '/' && refGlob(p, s, k + 1, j)) return true;
    for (let m = j; m <= s.length; m++) if (refGlob(p, s, k, m)) return true;
    return false;
  }
  const c = p[i];
  if (c === '*') {
    for (let m = j; m <= s.length; m++) {
      if (m > j && s[m - 1] === '/') break;
      if (refGlob(p, s, i + 1, m)) return true;
    }
    return false;
  }
  if (j >= s.length) return false;
  if (c === '?') return s[j] !== '/' && refGlob(p, s, i + 1, j + 1);
  if (c === '[') {
    const end = p.indexOf(']', i);
    const set = p.slice(i + 1, end);
    return s[j] !== '/' && set.includes(s[j]!) && refGlob(p, s, end + 1, j + 1);
  }
  return s[j] === c && refGlob(p, s, i + 1, j + 1);
}

function refDir(dir: string, recursive: boolean, path: string): boolean {
  const self = dir === '/' ? '/' : dir.slice(0, -1);
  if (path === self) return true;
  if (!path.startsWith(dir) || path === dir) return false;
  return recursive || !path.slice(dir.length).includes('/');
}

const segment = fc.constantFrom('a', 'b', 'ab', 'ba', 'a.b', 'aa');
const path = fc.array(segment, { minLength: 0, maxLength: 5 }).map((s) => `/${s.join('/')}`);
const dir = fc.array(segment, { minLength: 0, maxLength: 3 }).map((s) => (s.length === 0 ? '/' : `/${s.join('/')}/`));
const globToken = fc.constantFrom('a', 'b', '.', '/', '*', '?', '**', '[ab]', '**/');
const glob = fc.array(globToken, { minLength: 1, maxLength: 7 }).map((t) => `/${t.join('')}`);

function decides(yaml: string, p: string): boolean {
  const engine = compilePolicies(policies(yaml));
  return engine.decide({ event: event({ absPath: p, resolvedPath: p }), workload: WEB }, NODE) !== null;
}

test('compiled globs agree with the reference matcher', () => {
  fc.assert(fc.property(glob, path, (g, p) => compileGlob(g).test(p) === refGlob(g, p)), { numRuns: 3000 });
});

test('every path a pattern matches contains its required literal', () => {
  const withClasses = fc.array(fc.constantFrom('a', 'b', '.', '/', '*', '?', '**', '[ab]', '**/', '[!a]', '[]a]', '['), { minLength: 1, maxLength: 7 }).map((t) => `/${t.join('')}`);
  fc.assert(fc.property(withClasses, path, (g, p) => !compileGlob(g).test(p) || p.includes(requiredLiteral(g))), { numRuns: 5000 });
});

test('the engine (patterns grouped by literal directory) agrees with the reference matcher', () => {
  fc.assert(fc.property(glob, path, (g, p) => {
    const yaml = ksp('g', `  action: Audit\n  file:\n    matchPatterns:\n      - pattern: "${g}"`);
    return decides(yaml, p) === refGlob(g, p);
  }), { numRuns: 600 });
});

test('directory rules agree with the reference, recursive or not', () => {
  fc.assert(fc.property(dir, fc.boolean(), path, (d, rec, p) => {
    const yaml = ksp('d', `  action: Audit\n  file:\n    matchDirectories:\n      - dir: ${d}\n        recursive: ${rec}`);
    return decides(yaml, p) === refDir(d, rec, p);
  }), { numRuns: 800 });
});

test('path rules match exactly one path', () => {
  fc.assert(fc.property(path.filter((p) => p !== '/'), path, (rule, p) => {
    const yaml = ksp('p', `  action: Audit\n  file:\n    matchPaths:\n      - path: ${rule}`);
    return decides(yaml, p) === (rule === p);
  }), { numRuns: 500 });
});

function passes(f: KernelFilterSpec, p: string): boolean {
  return f.passAll || f.exactPaths.includes(p) || f.dirPrefixes.some((d) => p.startsWith(d) || `${p}/` === d);
}

test('the kernel filter passes every access some rule matches', () => {
  const rule = fc.oneof(
    path.filter((p) => p !== '/').map((p) => `      - path: ${p}`),
    fc.tuple(dir, fc.boolean()).map(([d, r]) => `    - dir: ${d}\n        recursive: ${r}`),
    glob.map((g) => `      - pattern: "${g}"`),
  );
  fc.assert(fc.property(fc.array(rule, { minLength: 1, maxLength: 5 }), path, (rules, p) => {
    const sections = {
      matchPaths: rules.filter((r) => r.includes('path:')),
      matchDirectories: rules.filter((r) => r.includes('dir:')).map((r) => `  ${r}`),
      matchPatterns: rules.filter((r) => r.includes('pattern:')),
    };
    const body = Object.entries(sections).filter(([, v]) => v.length > 0).map(([k, v]) => `    ${k}:\n${v.join('\n')}`).join('\n');
    const engine = compilePolicies(policies(ksp('f', `  action: Audit\n  file:\n${body}`)));
    const matched = engine.decide({ event: event({ absPath: p, resolvedPath: p }), workload: WEB }, NODE) !== null;
    return !matched || passes(engine.kernelFilter(), p);
  }), { numRuns: 800 });
});

test('kernel filter shapes', () => {
  const f = (body: string) => compilePolicies(policies(ksp('k', `  action: Audit\n  file:\n${body}`))).kernelFilter();
  assert.deepEqual(compilePolicies([]).kernelFilter(), { passAll: false, exactPaths: [], dirPrefixes: [] });
  assert.deepEqual(f('    matchPaths:\n      - path: /etc/shadow\n      - path: /etc/ssh/x'), { passAll: false, exactPaths: ['/etc/shadow', '/etc/ssh/x'], dirPrefixes: [] });
  assert.deepEqual(f('    matchDirectories:\n      - dir: /etc/ssh/\n    matchPaths:\n      - path: /etc/ssh/x'), { passAll: false, exactPaths: [], dirPrefixes: ['/etc/ssh/'] });
  assert.deepEqual(f('    matchPatterns:\n      - pattern: /var/www/**/*.php'), { passAll: false, exactPaths: [], dirPrefixes: ['/var/www/'] });
  assert.equal(f('    matchPatterns:\n      - pattern: /*/shadow').passAll, true);
  assert.equal(f('    matchPatterns:\n      - pattern: "*.key"').passAll, true);
  assert.deepEqual(f('    matchPaths:\n      - path: /proc/net/tcp'), { passAll: false, exactPaths: [], dirPrefixes: ['/proc/'] });
  const allow = compilePolicies(policies(ksp('a', '  action: Allow\n  file:\n    matchPaths:\n      - path: /x'))).kernelFilter();
  assert.equal(allow.passAll, true);
  const noFile = compilePolicies(policies(ksp('nofile', '  action: Audit\n  process:\n    matchPaths:\n      - path: /bin/sh'))).kernelFilter();
  assert.deepEqual(noFile, { passAll: false, exactPaths: [], dirPrefixes: [], exec: { passAll: false, paths: ['/bin/sh'], dirs: [], names: [] } },
    'process rules pass no file event, only their executions');
});

test('with several matching policies, the alert is the greatest by (Block, severity, name) and lists the others', () => {
  const pol = fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), action: fc.constantFrom('Audit', 'Block'), severity: fc.integer({ min: 1, max: 10 }) });
  fc.assert(fc.property(fc.uniqueArray(pol, { minLength: 1, maxLength: 6, selector: (p) => p.name }), (list) => {
    const yaml = list.map((p) => ksp(p.name, `  action: ${p.action}\n  severity: ${p.severity}\n  file:\n    matchPaths:\n      - path: /etc/x`)).join('');
    const d = compilePolicies(policies(yaml)).decide({ event: event({ absPath: '/etc/x' }), workload: WEB }, NODE);
    const want = [...list].sort((x, y) => (x.action !== y.action ? (x.action === 'Block' ? -1 : 1) : x.severity !== y.severity ? y.severity - x.severity : x.name < y.name ? -1 : 1))[0]!;
    assert.ok(d);
    assert.equal(d.policyName, want.name);
    assert.equal(d.action, want.action);
    assert.deepEqual(d.otherPolicies, list.map((p) => p.name).filter((n) => n !== want.name).sort());
    return true;
  }), { numRuns: 300 });
});
