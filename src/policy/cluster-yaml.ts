// How the Kubernetes API server reads a YAML scalar. It converts a posted YAML body to JSON with
// sigs.k8s.io/yaml, which decodes with go-yaml v2: YAML 1.1 rules, so `yes`, `on`, `y`, `off` are
// booleans, `010` is octal 8, `1_000` is 1000, `0x1F` is 31. armorwatch parses with the `yaml`
// library's YAML 1.2 core schema (load.ts) and reads every scalar a second time here, the way the
// cluster will, so that the validator never accepts what the cluster refuses or reads differently.
//
// The boolean and null word lists are the `yaml` library's own YAML 1.1 tags (identical to
// go-yaml's tables). Numbers are not: the library's YAML 1.1 schema also reads sexagesimal
// (`1:30`), timestamps, `e5` and `.` as numbers and rejects `0o17`/`0X1F`, where go-yaml (through Go's
// strconv) does the opposite, so numbers follow go-yaml's resolve order, written out below.
import { isScalar, Schema as YamlSchema, type Scalar, type ScalarTag } from 'yaml';

export type ClusterScalar =
  | { readonly t: 'string'; readonly value: string }
  | { readonly t: 'null' }
  | { readonly t: 'bool'; readonly value: boolean }
  /** A YAML int: Go's int64, or uint64 above int64's range (`unsigned`). */
  | { readonly t: 'int'; readonly value: bigint; readonly unsigned: boolean }
  | { readonly t: 'float'; readonly value: number }
  /** go-yaml refuses the document (an explicit tag that does not fit, bad !!binary). */
  | { readonly t: 'error'; readonly message: string };

const TAG = 'tag:yaml.org,2002:';
const YAML11 = new YamlSchema({ schema: 'yaml-1.1' });
/** The `test` of the library's YAML 1.1 scalar tag named `tag` that resolves to `value`. */
function yaml11Test(tag: string, value: unknown): RegExp {
  for (const t of YAML11.tags) {
    if (t.tag !== tag || !('test' in t) || !(t.test instanceof RegExp)) continue;
    const r = (t as ScalarTag).resolve('', () => {}, {});
    if (Object.is(isScalar(r) ? r.value : r, value)) return t.test;
  }
  throw new Error(`the yaml library has no YAML 1.1 ${tag} tag for ${String(value)}`);
}
const TRUE_WORDS = yaml11Test(`${TAG}bool`, true);
const FALSE_WORDS = yaml11Test(`${TAG}bool`, false);
const NULL_WORDS = yaml11Test(`${TAG}null`, null);
const NAN_INF = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Go's strconv.ParseInt(s, 0, 64) / ParseUint(s, 0, 64) grammar (underscores already removed). */
const GO_INT = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
/** go-yaml's yamlStyleFloat. */
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** strconv.ParseFloat of a text starting with '.', underscores only between digits. */
const DOT_FLOAT = /^\.[0-9]+(_[0-9]+)*([eE][-+]?[0-9]+(_[0-9]+)*)?$/;

function goUint(body: string): bigint {
  if (/^0[0-7]+$/.test(body)) return BigInt(`0o${body.slice(1)}`);
  if (/^0[xXoObB]/.test(body)) return BigInt(`0${body[1]!.toLowerCase()}${body.slice(2)}`);
  return BigInt(body);
}

function intResult(v: bigint, allowUnsigned: boolean): ClusterScalar | undefined {
  if (v >= INT64_MIN && v <= INT64_MAX) return { t: 'int', value: v, unsigned: false };
  if (allowUnsigned && v > INT64_MAX && v <= UINT64_MAX) return { t: 'int', value: v, unsigned: true };
  return undefined;
}

/** go-yaml v2 resolve() for an untagged plain scalar, or with a resolvable explicit tag. */
export function resolvePlain(text: string): ClusterScalar {
  if (text === '' || NULL_WORDS.test(text)) return { t: 'null' };
  if (TRUE_WORDS.test(text)) return { t: 'bool', value: true };
  if (FALSE_WORDS.test(text)) return { t: 'bool', value: false };
  if (NAN_INF.test(text)) {
    return { t: 'float', value: text.endsWith('nan') || text.endsWith('NaN') || text.endsWith('NAN') ? NaN : text.startsWith('-') ? -Infinity : Infinity };
  }
  const c = text[0]!;
  if (c === '.') {
    if (!DOT_FLOAT.test(text)) return { t: 'string', value: text };
    const f = Number(text.replaceAll('_', ''));
    return Number.isFinite(f) ? { t: 'float', value: f } : { t: 'string', value: text };
  }
  if (!(c === '+' || c === '-' || (c >= '0' && c <= '9'))) return { t: 'string', value: text };
  // Timestamps (2001-12-14) come next in go-yaml, but decoded into an interface{} they stay
  // strings, and nothing shaped like one parses as a number: they fall through to string below.
  const plain = text.replaceAll('_', '');
  const m = GO_INT.exec(plain);
  if (m !== null) {
    const magnitude = goUint(m[2]!);
    const r = intResult(m[1] === '-' ? -magnitude : magnitude, m[1] === '');
    if (r !== undefined) return r;
  }
  if (YAML_STYLE_FLOAT.test(plain)) {
    const f = Number(plain);
    if (Number.isFinite(f)) return { t: 'float', value: f }; // out of range: strconv fails, go-yaml moves on
  }
  // go-yaml's own binary fallbacks, after strconv gave up: the digits go to strconv.ParseInt(_, 2, 64)
  // (which takes a sign, so `0b-1` is -1), then ParseUint.
  if (plain.startsWith('0b')) {
    const rest = /^([-+]?)([01]+)$/.exec(plain.slice(2));
    if (rest !== null) {
      const v = BigInt(`0b${rest[2]!}`);
      const r = intResult(rest[1] === '-' ? -v : v, rest[1] === '');
      if (r !== undefined) return r;
    }
  } else if (plain.startsWith('-0b')) {
    const rest = /^[01]+$/.exec(plain.slice(3));
    if (rest !== null) {
      const r = intResult(-BigInt(`0b${rest[0]}`), false);
      if (r !== undefined) return r;
    }
  }
  return { t: 'string', value: text };
}

const RESOLVABLE: Record<string, ClusterScalar['t'] | 'timestamp'> = {
  [`${TAG}str`]: 'string', [`${TAG}bool`]: 'bool', [`${TAG}int`]: 'int', [`${TAG}float`]: 'float',
  [`${TAG}null`]: 'null', [`${TAG}timestamp`]: 'timestamp',
};
const TIMESTAMP = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]*)?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?$/;

function shortTag(tag: string): string {
  return tag.startsWith(TAG) ? `!!${tag.slice(TAG.length)}` : tag;
}

/** The value the API server sees for this scalar node. */
export function clusterScalar(node: Scalar): ClusterScalar {
  const text = typeof node.source === 'string' ? node.source : String(node.value ?? '');
  const tag = node.tag;
  const plain = node.type === 'PLAIN' || node.type === undefined;
  if (tag === undefined || tag === '') return plain ? resolvePlain(text) : { t: 'string', value: text };
  if (tag === `${TAG}binary`) {
    const b64 = text.replace(/[\r\n]/g, '');
    if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return { t: 'error', message: '!!binary value contains invalid base64 data' };
    return { t: 'string', value: Buffer.from(b64, 'base64').toString('utf8') };
  }
  const want = RESOLVABLE[tag];
  if (want === undefined) return { t: 'string', value: text }; // `!`, `!foo`: go-yaml keeps the text
  if (want === 'string') return { t: 'string', value: text };
  if (want === 'timestamp') {
    return TIMESTAMP.test(text) ? { t: 'string', value: text } : { t: 'error', message: `cannot decode \`${text}\` as a !!timestamp` };
  }
  const r = resolvePlain(text);
  if (r.t === want) return r;
  if (want === 'float' && r.t === 'int' && !r.unsigned) return { t: 'float', value: Number(r.value) };
  return { t: 'error', message: `cannot decode ${r.t === 'string' ? '!!str' : `!!${r.t}`} \`${text}\` as a ${shortTag(tag)}` };
}

/** Go's strconv.FormatFloat(f, 'g', -1, 32), which sigs.k8s.io/yaml uses for float map keys. */
function formatFloat32(f: number): string {
  const x = Math.fround(f);
  if (Number.isNaN(x)) return '.nan';
  if (!Number.isFinite(x)) return x > 0 ? '.inf' : '-.inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  let digits = '';
  let exp = 0;
  for (let p = 1; p <= 9; p++) {
    const s = Math.abs(x).toExponential(p - 1);
    if (Math.fround(Number(s)) === Math.abs(x)) {
      const [mant, e] = s.split('e');
      digits = mant!.replace('.', '').replace(/0+$/, '') || '0';
      exp = Number(e);
      break;
    }
  }
  const sign = x < 0 ? '-' : '';
  if (exp < -4 || exp >= 6) {
    const e = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}${frac ? `.${frac}` : ''}`;
}

/** The JSON object key the API server makes of a mapping key, or why it cannot make one. */
export function clusterKey(s: ClusterScalar): { key: string } | { error: string } {
  switch (s.t) {
    case 'string': return { key: s.value };
    case 'bool': return { key: String(s.value) };
    case 'int': return s.unsigned ? { error: 'a key above 9223372036854775807 is not supported' } : { key: s.value.toString() };
    case 'float': return { key: formatFloat32(s.value) };
    case 'null': return { error: 'a null key is not supported' };
    case 'error': return { error: s.message };
  }
}

/**
 * The integer an integer-typed field holds after the API server's YAML -> JSON -> object trip, or
 * undefined when the cluster would not take the value as an integer. Floats with no fraction
 * (`3.0`, `1e1`) become JSON integers; uint64 values past int64 become floats past 2^53 and fail.
 */
export function clusterInteger(s: ClusterScalar): bigint | undefined {
  if (s.t === 'int') return s.unsigned ? undefined : s.value;
  if (s.t === 'float' && Number.isInteger(s.value) && Math.abs(s.value) < 1e21) {
    const v = BigInt(s.value);
    return v >= INT64_MIN && v <= INT64_MAX ? v : undefined;
  }
  return undefined;
}

/** `the boolean true`, `the number 8`, `null`: what the cluster reads, for messages. */
export function describeCluster(s: ClusterScalar): string {
  switch (s.t) {
    case 'string': return `the string ${JSON.stringify(s.value)}`;
    case 'null': return 'null';
    case 'bool': return `the boolean ${String(s.value)}`;
    case 'int': return `the number ${s.value.toString()}`;
    case 'float': return Number.isFinite(s.value) ? `the number ${String(s.value)}` : `the number ${String(s.value)} (not representable in JSON)`;
    case 'error': return `an error (${s.message})`;
  }
}

/** The plain JSON-like value (ints as numbers), for free-form fields. */
export function clusterPlainValue(s: ClusterScalar): unknown {
  switch (s.t) {
    case 'string': case 'bool': case 'float': return s.value;
    case 'null': case 'error': return null;
    case 'int': return Number(s.value);
  }
}
