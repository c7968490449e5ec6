// What Datadog needs on a record that OTLP alone does not give it (--datadog-attributes,
// --datadog-source, --datadog-tags). Datadog's OTLP logs mapping (the Agent's OTLP intake and the
// Collector's datadog exporter share it) turns every record attribute that is not a map into its
// string form: an array arrives as JSON text (`["NIST","CIS"]`), which no `@attr:value` search
// matches. It appends a string `ddtags` record attribute to the record's Datadog tags, and the
// Agent takes the log source from `datadog.log.source`; the exporter sends a `ddsource` attribute
// on as the intake's field of that name. docs/QUERIES.md says what was checked and what was not.
import type { MatchDecision } from '../types.ts';

/** The Datadog settings of the run configuration; null when all three options are off. */
export interface DatadogSettings {
  /** --datadog-source: `ddsource` and `datadog.log.source` on every record; undefined = neither. */
  readonly source?: string;
  /** --datadog-tags: static Datadog tags (`key:value`) in every record's `ddtags`. */
  readonly tags: readonly string[];
  /** --datadog-attributes: the policy's tags as `kubearmor_tag:<tag>` in `ddtags`, and scalar copies of the array attributes. */
  readonly attributes: boolean;
}

/** The tag key each policy tag is sent under in `ddtags`. */
export const POLICY_TAG_KEY = 'kubearmor_tag';

/** Separator of the comma-joined copies of array attributes (a comma inside a value is not escaped). */
export const JOIN_SEPARATOR = ',';

/**
 * A tag as Datadog keeps it: lower case; characters other than letters, digits, `_`, `-`, `:`, `.`
 * and `/` become `_` (Datadog's own tag rules, applied here so the query is predictable, and so that
 * a comma in a policy tag cannot split it in `ddtags`).
 */
export function datadogTagValue(value: string): string {
  return value.toLowerCase().replace(/[^\p{L}\p{N}_\-:./]/gu, '_');
}

/** A user tag from --datadog-tags: starts with a letter, then Datadog's tag characters, at most 200. */
export const STATIC_TAG = /^[A-Za-z][A-Za-z0-9_\-:./]{0,199}$/;

/** A log source name (--datadog-source): Datadog integration names are of this form (`kubearmor`, `armorwatch`). */
export const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * The `ddtags` string of one record: the static tags, then (with --datadog-attributes) one
 * `kubearmor_tag:<tag>` per policy tag; undefined when there is none. Cached per tag list: a
 * policy's Decision keeps one tags array for as long as the policy is loaded.
 */
export class DdTags {
  readonly #settings: DatadogSettings;
  readonly #static: string;
  readonly #byTags = new WeakMap<readonly string[], string>();

  constructor(settings: DatadogSettings) {
    this.#settings = settings;
    this.#static = settings.tags.join(',');
  }

  of(decision: MatchDecision): string | undefined {
    return this.ofTags(decision.tags);
  }

  /** The same for a record whose tags are not a policy's (port-scan records: SCAN_TAGS). */
  ofTags(policyTags: readonly string[]): string | undefined {
    const tags = this.#settings.attributes ? policyTags : undefined;
    if (tags === undefined || tags.length === 0) return this.#static === '' ? undefined : this.#static;
    let s = this.#byTags.get(tags);
    if (s === undefined) {
      const own = tags.map((t) => `${POLICY_TAG_KEY}:${datadogTagValue(t)}`).join(',');
      s = this.#static === '' ? own : `${this.#static},${own}`;
      this.#byTags.set(tags, s);
    }
    return s;
  }
}

/** A scalar copy of an array attribute (--datadog-attributes); undefined for an absent or empty list. */
export function joined(values: readonly string[] | undefined, separator = JOIN_SEPARATOR): string | undefined {
  return values === undefined || values.length === 0 ? undefined : values.join(separator);
}
