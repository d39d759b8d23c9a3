/**
 * The default model's tokenizer, written as the standard Hugging Face files: a character-level BPE (printable
 * ASCII and newline, no merges) with special tokens for padding, sequence ends and chat roles. Character-level
 * suits string tasks, keeps the vocabulary tiny, and loads in transformers and tokenizers.js alike.
 */

export const SPECIAL_TOKENS = ['<pad>', '<s>', '</s>', '<unk>', '<|system|>', '<|user|>', '<|assistant|>'] as const;
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;

export const CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + '</s>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

export function tokenizerJson(): Record<string, unknown> {
  const chars = [...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), '\n'];
  const vocab: Record<string, number> = {};
  SPECIAL_TOKENS.forEach((t, i) => (vocab[t] = i));
  chars.forEach((c, i) => (vocab[c] = SPECIAL_TOKENS.length + i));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
}

export function tokenizerConfigJson(): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    model_max_length: 256,
    chat_template: CHAT_TEMPLATE,
  };
}

export const VOCAB_SIZE = SPECIAL_TOKENS.length + 96;
