/**
 * The regular expressions of a PEFT adapter_config.json (target_modules as one string, rank_pattern and
 * alpha_pattern keys, layers_pattern), matched against module paths. They are a tenant's input, and PEFT reads
 * them as Python regular expressions; run on a backtracking engine, a pattern like `(a|aa)*b` costs time
 * exponential in the path's length. So they never become a JavaScript RegExp: names and dotted paths (what
 * almost every config holds) are matched by PEFT's own suffix rule, anything else on re2js, a port of RE2 whose
 * matching is linear in the input. RE2 has no lookarounds or backreferences; those are refused by name.
 * Pure module: the edge checks uploads with it and the backend loads adapters with it.
 */
import { RE2JS } from 're2js';
import { invalid } from './errors.ts';

/** The longest pattern accepted, in characters: real configs name modules in tens of characters. */
export const MAX_PATTERN_LENGTH = 512;

/**
 * The most RE2 instructions all of one config's regular expressions may compile to together. A short pattern can
 * compile large (`(?:\pL{30}){30}` is 16 characters and ~900 instructions), and compiling and matching cost
 * grows with it; typical patterns take 20 to 300.
 */
export const MAX_PATTERN_PROGRAM = 4096;

/** Where a pattern comes from, as the message names it: `target_modules`, `rank_pattern key "v_proj"`, .... */
export interface PatternSource {
  field: 'target_modules' | 'rank_pattern' | 'alpha_pattern' | 'layers_pattern';
  label: string;
}

/**
 * Word characters, `-` and dots: a name (`q_proj`) or a dotted path (`layers.3.self_attn.q_proj`). Every `.` is
 * still Python's any-character, which the suffix rule honours; no other character has a regex meaning here.
 * (Python's `.` skips newlines; module paths hold none.)
 */
const PLAIN = /^[\w-]+(?:\.[\w-]+)*$/;

/** Whether `text` equals `pattern` read as a regular expression of literal characters and `.` wildcards. */
function wildcardEquals(pattern: string, text: string, at: number): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '.' && pattern.charCodeAt(i) !== text.charCodeAt(at + i)) return false;
  }
  return true;
}

/** Counts the RE2 instructions a config's patterns compile to, refusing past `MAX_PATTERN_PROGRAM`. */
export class PatternBudget {
  private used = 0;

  spend(program: number, source: PatternSource): void {
    this.used += program;
    if (this.used > MAX_PATTERN_PROGRAM) {
      invalid(
        'pattern_too_complex',
        `adapter_config.json: the regular expressions up to ${source.label} compile to ${this.used} RE2 instructions; the limit for one config is ${MAX_PATTERN_PROGRAM}. Name modules by their path suffix (e.g. "q_proj" or "layers.3.self_attn.q_proj") or simplify the patterns.`,
        source.field,
      );
    }
  }
}

/** What RE2 lacks that Python's `re` has, by the syntax that starts it. */
const UNSUPPORTED: [RegExp, string][] = [
  [/\(\?<?[=!]/, 'a lookaround ("(?=", "(?!", "(?<=" or "(?<!")'],
  [/\\[1-9]|\(\?P=/, 'a backreference ("\\1" or "(?P=name)")'],
  [/\(\?>|[*+?}][+]/, 'an atomic group or possessive quantifier'],
];

function compile(pattern: string, source: PatternSource, budget: PatternBudget): RE2JS {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '');
    const lacking = UNSUPPORTED.find(([syntax]) => syntax.test(pattern))?.[1];
    if (lacking) {
      invalid(
        'unsupported_pattern',
        `adapter_config.json: ${source.label} uses ${lacking}; rankgate matches patterns with a linear-time engine (RE2 syntax), which has none. Rewrite it without, or list the modules by name (e.g. ["q_proj", "v_proj"]).`,
        source.field,
      );
    }
    invalid(
      'bad_adapter_config',
      `adapter_config.json: ${source.label} is not a valid regular expression (RE2 syntax): ${reason}.`,
      source.field,
    );
  }
  budget.spend(re.programSize(), source);
  return re;
}

function checkLength(pattern: string, source: PatternSource): void {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    invalid(
      'pattern_too_long',
      `adapter_config.json: ${source.label} is ${pattern.length} characters; patterns are limited to ${MAX_PATTERN_LENGTH}. Name modules by their path suffix (e.g. "q_proj" or "layers.3.self_attn.q_proj") or list them in target_modules.`,
      source.field,
    );
  }
}

/** A pattern that tests whole module paths. */
export type PathMatcher = (path: string) => boolean;

/** `re.fullmatch(pattern, path)`: how PEFT's check_target_module_exists reads target_modules given as one string. */
export function fullMatcher(pattern: string, source: PatternSource, budget: PatternBudget): PathMatcher {
  checkLength(pattern, source);
  if (PLAIN.test(pattern)) return (path) => path.length === pattern.length && wildcardEquals(pattern, path, 0);
  const re = compile(pattern, source, budget);
  return (path) => re.testExact(path);
}

/**
 * `re.match(rf"(.*\.)?({key})$", path)`: how PEFT's get_pattern_key reads a rank_pattern or alpha_pattern key,
 * the key matching the end of the path on a dot boundary. For a plain key that is the suffix rule itself.
 */
export function suffixMatcher(key: string, source: PatternSource, budget: PatternBudget): PathMatcher {
  checkLength(key, source);
  if (PLAIN.test(key)) {
    return (path) => {
      const at = path.length - key.length;
      if (at < 0 || (at > 0 && path[at - 1] !== '.')) return false;
      return wildcardEquals(key, path, at);
    };
  }
  const re = compile(`(?:.*\\.)?(?:${key})`, source, budget);
  return (path) => re.testExact(path);
}

/** A pattern that finds a layer index in a module path, or null. */
export type LayerFinder = (path: string) => number | null;

/** `re.match(rf".*\.{pattern}\.(\d+)\.", path)`: how PEFT finds the layer index after a layers_pattern name. */
export function layerFinder(pattern: string, source: PatternSource, budget: PatternBudget): LayerFinder {
  checkLength(pattern, source);
  // PEFT splices the pattern in ungrouped, so an alternation splits the expression; lookingAt anchors every
  // alternative at the start, as re.match does.
  const re = compile(`.*\\.${pattern}\\.(\\d+)\\.`, source, budget);
  return (path) => {
    const m = re.matcher(path);
    const index = m.lookingAt() ? m.group(1) : null;
    return index == null ? null : Number(index);
  };
}
