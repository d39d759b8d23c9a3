/**
 * PEFT `adapter_config.json` for LoRA, and the rules PEFT uses to decide which modules an adapter targets and
 * with what rank and scale. Pure module: the edge checks uploads with it too.
 */
import { z } from 'zod';
import { describeIssues } from '../api/zod-issues.ts';
import { invalid, unsupported } from './errors.ts';
import { PROJECTIONS, modulePath, type ModelConfig, type Projection } from './hf-config.ts';
import { PatternBudget, fullMatcher, layerFinder, suffixMatcher, type LayerFinder, type PathMatcher } from './peft-pattern.ts';

export const MAX_RANK = 256;

export interface LoraConfig {
  r: number;
  loraAlpha: number;
  useRslora: boolean;
  /** A list of module-name suffixes, or one regular expression matched against the full module name. */
  targetModules: string[] | string;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  layersToTransform: number[] | null;
  /** Names of the layer list in module paths (`layers` here); with layers_to_transform, picks the layer index. */
  layersPattern: string[] | null;
  baseModelNameOrPath: string | null;
  /** The parsed JSON as given, so that a round trip keeps fields rankgate does not interpret. */
  raw: Record<string, unknown>;
}

const Raw = z.looseObject({
  peft_type: z.string().optional(),
  r: z.number().int(),
  lora_alpha: z.number().optional(),
  use_rslora: z.boolean().optional(),
  target_modules: z.union([z.array(z.string()), z.string()]).nullish(),
  rank_pattern: z.record(z.string(), z.number().int()).nullish(),
  alpha_pattern: z.record(z.string(), z.number()).nullish(),
  layers_to_transform: z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())]).nullish(),
  layers_pattern: z.union([z.string(), z.array(z.string())]).nullish(),
  fan_in_fan_out: z.boolean().optional(),
  use_dora: z.boolean().optional(),
  bias: z.string().optional(),
  lora_bias: z.boolean().optional(),
  modules_to_save: z.array(z.string()).nullish(),
  exclude_modules: z.union([z.array(z.string()), z.string()]).nullish(),
  base_model_name_or_path: z.string().nullish(),
});

function checkRank(r: number, where: string): void {
  if (!Number.isInteger(r) || r < 1 || r > MAX_RANK) {
    invalid('bad_lora_rank', `adapter_config.json: ${where} is ${r}; LoRA rank must be an integer from 1 to ${MAX_RANK}.`, where);
  }
}

export function parseLoraConfig(json: unknown): LoraConfig {
  const parsed = Raw.safeParse(json);
  if (!parsed.success) {
    const { message, param } = describeIssues(parsed.error, 'adapter_config.json');
    invalid('bad_adapter_config', message, param ?? undefined);
  }
  const c = parsed.data;
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') {
    unsupported(
      'unsupported_peft_type',
      `adapter_config.json: peft_type "${c.peft_type}" is not supported; rankgate serves LoRA adapters.`,
      'peft_type',
    );
  }
  if (c.use_dora) unsupported('unsupported_adapter', 'adapter_config.json: DoRA adapters (use_dora: true) are not supported.', 'use_dora');
  if ((c.bias ?? 'none') !== 'none' || c.lora_bias)
    unsupported(
      'unsupported_adapter',
      'adapter_config.json: adapters with trained biases (bias / lora_bias) are not supported; use bias "none".',
      'bias',
    );
  if (c.modules_to_save?.length)
    unsupported(
      'unsupported_adapter',
      `adapter_config.json: modules_to_save (${c.modules_to_save.join(', ')}) is not supported; rankgate serves low-rank deltas only.`,
      'modules_to_save',
    );
  if (c.exclude_modules && (typeof c.exclude_modules === 'string' || c.exclude_modules.length)) {
    unsupported('unsupported_adapter', 'adapter_config.json: exclude_modules is not supported.', 'exclude_modules');
  }
  checkRank(c.r, 'r');
  for (const [k, v] of Object.entries(c.rank_pattern ?? {})) checkRank(v, `rank_pattern.${k}`);
  if (c.target_modules == null || (Array.isArray(c.target_modules) && c.target_modules.length === 0)) {
    invalid(
      'bad_adapter_config',
      'adapter_config.json: target_modules is empty; name the projections the adapter changes (e.g. ["q_proj", "v_proj"]).',
      'target_modules',
    );
  }
  const layers = c.layers_to_transform;
  const config: LoraConfig = {
    r: c.r,
    loraAlpha: c.lora_alpha ?? 8,
    useRslora: c.use_rslora ?? false,
    targetModules: c.target_modules,
    rankPattern: c.rank_pattern ?? {},
    alphaPattern: c.alpha_pattern ?? {},
    layersToTransform: layers == null ? null : Array.isArray(layers) ? layers : [layers],
    // PEFT reads an empty layers_pattern ("" or []) as none.
    layersPattern:
      c.layers_pattern == null || c.layers_pattern.length === 0
        ? null
        : Array.isArray(c.layers_pattern)
          ? c.layers_pattern
          : [c.layers_pattern],
    baseModelNameOrPath: c.base_model_name_or_path ?? null,
    raw: c as Record<string, unknown>,
  };
  // Compiled here to refuse a bad pattern when the config is read; resolveTargets compiles them again to use.
  compilePatterns(config);
  return config;
}

/** The config's patterns, ready to match module paths, compiled against one budget. */
interface Patterns {
  target: PathMatcher | null;
  /** target_modules given as a list, for lookups by name: lists may be long. */
  targetNames: Set<string> | null;
  layersToTransform: Set<number> | null;
  rank: [PathMatcher, number][];
  alpha: [PathMatcher, number][];
  layers: LayerFinder[];
}

/** Names a key in a message without repeating a long one whole. */
const quoted = (key: string) => JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key);

function compilePatterns(cfg: LoraConfig): Patterns {
  const budget = new PatternBudget();
  const keyed = (field: 'rank_pattern' | 'alpha_pattern', patterns: Record<string, number>) =>
    Object.entries(patterns).map(([key, value]): [PathMatcher, number] => [
      suffixMatcher(key, { field, label: `${field} key ${quoted(key)}` }, budget),
      value,
    ]);
  return {
    target:
      typeof cfg.targetModules === 'string'
        ? fullMatcher(cfg.targetModules, { field: 'target_modules', label: 'target_modules' }, budget)
        : null,
    targetNames: typeof cfg.targetModules === 'string' ? null : new Set(cfg.targetModules),
    layersToTransform: cfg.layersToTransform?.length ? new Set(cfg.layersToTransform) : null,
    rank: keyed('rank_pattern', cfg.rankPattern),
    alpha: keyed('alpha_pattern', cfg.alphaPattern),
    // Without a layers_pattern, PEFT takes the index after any name.
    layers: (cfg.layersPattern ?? ['[^.]*']).map((p) =>
      layerFinder(p, { field: 'layers_pattern', label: `layers_pattern ${quoted(p)}` }, budget),
    ),
  };
}

/** One module an adapter changes, with the rank and scale PEFT would give it. */
export interface LoraTarget {
  layer: number;
  projection: Projection;
  path: string;
  rank: number;
  scale: number;
}

/** PEFT's `get_pattern_key`: the first pattern that matches the end of the module path, on dot boundaries. */
function patternValue(patterns: [PathMatcher, number][], path: string): number | undefined {
  return patterns.find(([matches]) => matches(path))?.[1];
}

/**
 * PEFT's `check_target_module_exists` for the linear projections of a Llama-family decoder: null when `path` is
 * not targeted, else the target_modules names that select it (none for a pattern). `fan_in_fan_out` plays no part: PEFT sets it to false for `nn.Linear` targets (only GPT-2's Conv1D stores weights the other
 * way), and every projection here is an `nn.Linear`, so an adapter saved with it true reads as any other.
 */
function targetedBy(patterns: Patterns, path: string): string[] | null {
  if (patterns.target) return patterns.target(path) ? [] : null;
  const names = dotSuffixes(path).filter((t) => patterns.targetNames!.has(t));
  if (names.length === 0) return null;
  // PEFT reads layers_to_transform only for list targets, and not for a module named by its full path.
  if (patterns.layersToTransform && !patterns.targetNames!.has(path)) {
    const layer = layerIndex(path, patterns.layers);
    if (layer === null || !patterns.layersToTransform.has(layer)) return null;
  }
  return names;
}

/** The path and each tail after one of its dots: the names `t` with `path == t or path.endswith("." + t)`. */
function dotSuffixes(path: string): string[] {
  const tails = [path];
  for (let i = path.indexOf('.'); i >= 0; i = path.indexOf('.', i + 1)) tails.push(path.slice(i + 1));
  return tails;
}

/** At most a few names of a list, for a message. */
function someOf(names: string[]): string {
  const more = names.length > 10 ? ` (and ${names.length - 10} more)` : '';
  return `${JSON.stringify(names.slice(0, 10))}${more}`;
}

/**
 * The layer index in a module path as PEFT finds it: after the first of `layers_pattern` that matches (a
 * pattern naming another model's layer list, like GPT-2's `h`, matches nothing here), else after any name.
 */
function layerIndex(path: string, finders: LayerFinder[]): number | null {
  for (const find of finders) {
    const layer = find(path);
    if (layer !== null) return layer;
  }
  return null;
}

/**
 * Resolves which projections of `model` the adapter targets, with per-module rank and scale. Names in a
 * target list that match nothing in the model (say `c_attn` from GPT-2, or `lm_head`) are refused by name.
 */
export function resolveTargets(cfg: LoraConfig, model: ModelConfig): LoraTarget[] {
  const patterns = compilePatterns(cfg);
  const targets: LoraTarget[] = [];
  const matched = new Set<string>();
  for (let layer = 0; layer < model.numLayers; layer++) {
    for (const p of PROJECTIONS) {
      const path = modulePath(layer, p);
      const names = targetedBy(patterns, path);
      if (!names) continue;
      for (const t of names) matched.add(t);
      const rank = patternValue(patterns.rank, path) ?? cfg.r;
      const alpha = patternValue(patterns.alpha, path) ?? cfg.loraAlpha;
      checkRank(rank, `rank for ${path}`);
      targets.push({ layer, projection: p, path, rank, scale: cfg.useRslora ? alpha / Math.sqrt(rank) : alpha / rank });
    }
  }
  if (targets.length === 0 && cfg.layersToTransform?.length) {
    const pattern = cfg.layersPattern ? ` with layers_pattern ${JSON.stringify(cfg.layersPattern)}` : '';
    const layers = `module paths read ${modulePath(0, 'q_proj')}; layers 0-${model.numLayers - 1}`;
    const message = `adapter_config.json: layers_to_transform ${JSON.stringify(cfg.layersToTransform)}${pattern} selects no layer of this model (${layers}); use layers_pattern "layers" or leave it out.`;
    invalid('unknown_target_modules', message, cfg.layersPattern ? 'layers_pattern' : 'layers_to_transform');
  }
  if (Array.isArray(cfg.targetModules)) {
    const unknown = cfg.targetModules.filter((t) => !matched.has(t));
    if (unknown.length) {
      invalid(
        'unknown_target_modules',
        `adapter_config.json: target_modules ${someOf(unknown)} match no module of this ${model.family} model; its LoRA-able modules are ${PROJECTIONS.join(', ')}.`,
        'target_modules',
      );
    }
  }
  if (targets.length === 0) {
    invalid(
      'unknown_target_modules',
      `adapter_config.json: target_modules ${typeof cfg.targetModules === 'string' ? quoted(cfg.targetModules) : someOf(cfg.targetModules)} match no module of this model; its LoRA-able modules are ${PROJECTIONS.join(', ')}.`,
      'target_modules',
    );
  }
  return targets;
}

/** The PEFT key prefix of a module's tensors in adapter_model.safetensors. */
export function peftKey(path: string, which: 'lora_A' | 'lora_B'): string {
  return `base_model.model.${path}.${which}.weight`;
}

/** Writes an adapter_config.json as PEFT's `save_pretrained` would, for adapters rankgate creates. */
export function loraConfigJson(opts: {
  r: number;
  loraAlpha: number;
  targetModules: string[];
  baseModel: string;
  useRslora?: boolean;
  rankPattern?: Record<string, number>;
  alphaPattern?: Record<string, number>;
  layersToTransform?: number[] | null;
}): Record<string, unknown> {
  return {
    alpha_pattern: opts.alphaPattern ?? {},
    base_model_name_or_path: opts.baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: opts.layersToTransform ?? null,
    lora_alpha: opts.loraAlpha,
    lora_dropout: 0.0,
    modules_to_save: null,
    peft_type: 'LORA',
    r: opts.r,
    rank_pattern: opts.rankPattern ?? {},
    target_modules: opts.targetModules,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: opts.useRslora ?? false,
  };
}
