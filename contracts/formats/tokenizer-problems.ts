/**
 * What can be wrong with a base model's tokenizer files, as the tenant reads it: a 400 naming the file, what is wrong
 * and what to do. The edge finds what it can when the model is registered (tokenizer_config.json, its chat template's
 * syntax); the backend finds the rest when it loads the model and runs them (gpu-backend/formats/served-tokenizer.ts).
 */
import { Template } from '@huggingface/jinja';
import { InvalidInputError } from './errors.ts';

/** The most bytes of tokenizer_config.json read: real ones hold a template and special tokens, a few KiB to ~200 KiB. */
export const MAX_TOKENIZER_CONFIG_BYTES = 1024 * 1024;

const AGAIN = "in the model's files and register the model again";

/** tokenizer.json is broken: no text can be served. */
export function tokenizerProblem(what: string): InvalidInputError {
  return new InvalidInputError('bad_tokenizer', `This base model's tokenizer.json ${what}; fix tokenizer.json ${AGAIN}.`, 'model');
}

/** tokenizer_config.json is broken: no text can be served (its special tokens are unknown). */
export function tokenizerConfigProblem(what: string): InvalidInputError {
  return new InvalidInputError('bad_tokenizer', `This base model's tokenizer_config.json ${what}; fix it ${AGAIN}.`, 'model');
}

/** The chat template is broken (or cannot render these messages): chat completions only are refused. */
export function templateProblem(what: string): InvalidInputError {
  return new InvalidInputError(
    'bad_chat_template',
    `This base model's chat template (chat_template in tokenizer_config.json) ${what}; fix chat_template ${AGAIN}; text completions (/v1/completions) do not use it.`,
    'messages',
  );
}

/** The template's syntax error (as @huggingface/jinja, which renders it, reports it), or null when it parses. */
export function chatTemplateSyntaxError(template: string): string | null {
  try {
    new Template(template);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
