/**
 * Tokenizer files a tenant could register with a base model, each broken or hostile in one way, built from the
 * default model's tokenizer (character-level, fits the tiny fixture's vocabulary). Each is what the probe of the
 * running stack used, or the smallest file that does the same.
 */
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';

export interface TokenizerFiles {
  /** tokenizer.json's text. */
  tokenizer: string;
  /** tokenizer_config.json's text. */
  config: string;
}

const files = (tokenizer: unknown, config: unknown = tokenizerConfigJson()): TokenizerFiles => ({
  tokenizer: typeof tokenizer === 'string' ? tokenizer : JSON.stringify(tokenizer),
  config: typeof config === 'string' ? config : JSON.stringify(config),
});

const withTemplate = (chat_template: string) => files(tokenizerJson(), { ...tokenizerConfigJson(), chat_template });

/** A text on which BACKTRACKING_SPLIT's pattern backtracks exponentially (minutes; twice as long per extra "a"). */
export const BACKTRACKING_TEXT = `${'a'.repeat(32)}!`;

export const HOSTILE = {
  good: files(tokenizerJson()),
  /** A pre-tokenizer Split whose pattern backtracks on BACKTRACKING_TEXT, and runs in microseconds on others. */
  backtrackingSplit: files({
    ...tokenizerJson(),
    pre_tokenizer: { type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false },
  }),
  notJson: files('{"model": {'),
  noModel: files({ ...tokenizerJson(), model: undefined }),
  configNotJson: files(tokenizerJson(), '{"chat_template": '),
  /** A decoder pattern would run on the serving thread, on every generated token. */
  regexDecoder: files({
    ...tokenizerJson(),
    decoder: { type: 'Replace', pattern: { Regex: '(a+)+$' }, content: '' },
  }),
  /** 2,000 × 1,000 iterations: seconds of CPU. */
  loopingTemplate: withTemplate('{% for i in range(2000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}'),
  /** One array of 10⁸ numbers: gigabytes of heap. */
  hugeRangeTemplate: withTemplate('{% for i in range(100000000) %}{% endfor %}'),
  /** A macro that calls itself (through its argument) until the stack is exhausted. */
  recursiveTemplate: withTemplate('{% macro g(h) %}{{ h(h) }}{% endmacro %}{{ g(g) }}'),
  syntaxErrorTemplate: withTemplate('{% for message in messages %}{{ message.content }}'),
  /** Writes the first message 200 times: fine for a short one, megabytes for a long one. */
  repeatingTemplate: withTemplate("{% for i in range(200) %}{{ messages[0]['content'] }}{% endfor %}"),
} satisfies Record<string, TokenizerFiles>;
