/**
 * OpenAI's embeddings shapes (`POST /v1/embeddings`), served from a model's last hidden state: the edge and the
 * backend check requests with the same schema, and the edge checks the backend's answer with EmbeddingList.
 */
import { z } from '@hono/zod-openapi';
import { AdapterMix, Model, promptBytesCheck } from './openai.ts';

/** How a prompt's hidden states become one vector; `mean` unless the request says `pooling`. */
export const POOLINGS = ['mean', 'last'] as const;
export type Pooling = (typeof POOLINGS)[number];

/**
 * Most inputs one request may embed. Each is a row through the backend's scheduler, whose queue is bounded (a
 * full queue answers 429): OpenAI's 2048 would not fit it, and a client that has more sends several requests.
 */
export const MAX_EMBEDDING_INPUTS = 256;

/** Most token ids in one pre-tokenized input, whatever the model (its context is the tighter bound, checked by the backend). */
export const MAX_INPUT_TOKEN_IDS = 32_768;

const TokenIds = z.array(z.number().int().min(0)).min(1).max(MAX_INPUT_TOKEN_IDS);

export const EmbeddingRequest = z
  .strictObject({
    model: Model,
    input: z
      .union([
        z.string(),
        z.array(z.string()).min(1).max(MAX_EMBEDDING_INPUTS),
        TokenIds,
        z.array(TokenIds).min(1).max(MAX_EMBEDDING_INPUTS),
      ])
      .superRefine(
        promptBytesCheck((input: string | string[] | number[] | number[][]) =>
          typeof input === 'string' ? [input] : input.filter((i): i is string => typeof i === 'string'),
        ),
      )
      .openapi({
        description: `A text, up to ${MAX_EMBEDDING_INPUTS} texts, a list of token ids, or up to ${MAX_EMBEDDING_INPUTS} lists of token ids (the model's own ids, as its tokenizer writes them; used as given, no BOS added). Texts are tokenized as for a text completion (with the tokenizer's BOS). Each input must fit the model's context.`,
      }),
    encoding_format: z.enum(['float', 'base64']).optional().openapi({
      description:
        '`float` (the default): arrays of numbers; `base64`: each vector as little-endian float32 bytes, base64-encoded (what the OpenAI SDKs ask for and decode).',
    }),
    dimensions: z.number().int().min(1).optional().openapi({
      description:
        "Accepted only as the model's hidden size (its embeddings' length); the models served are not trained to be truncated, so any other value is refused with 400 `unsupported_dimensions`.",
    }),
    pooling: z.enum(POOLINGS).optional().openapi({
      description:
        'An extension field. `mean` (the default): the average of the last hidden state (after the final norm) over every token of the input, BOS included; `last`: the hidden state at the last token, the only one that has attended to the whole input in a causal decoder. Either way the vector is L2-normalized (unit length), so a dot product is a cosine similarity.',
    }),
    adapters: AdapterMix.optional(),
    user: z.string().max(256).optional(),
  })
  .openapi('EmbeddingRequest');

export const Embedding = z
  .object({
    object: z.literal('embedding'),
    index: z.number().int(),
    embedding: z
      .union([z.array(z.number()), z.string()])
      .openapi({ description: 'Numbers, or a base64 string with `encoding_format: "base64"`.' }),
  })
  .openapi('Embedding');

export const EmbeddingList = z
  .object({
    object: z.literal('list'),
    data: z.array(Embedding),
    model: z.string(),
    usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  })
  .openapi('EmbeddingList');
