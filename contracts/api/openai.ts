/** OpenAI's completion shapes, the fields rankgate serves. Unknown fields are refused, not silently dropped. */
import { z } from '@hono/zod-openapi';
import { UnixSeconds } from './fields.ts';

const Model = z
  .string()
  .min(1)
  .max(300)
  .openapi({ description: '"<base>", "<base>:<adapter>", "<base>:<merge>" or "<base>:<merge>/<task>".', example: 'tiny-llama:task_a' });

const Sampling = {
  max_tokens: z.number().int().min(1).max(32_768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  n: z.number().int().min(1).max(8).optional(),
  stream: z.boolean().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean() }).optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
  seed: z.number().int().optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  user: z.string().max(256).optional(),
};

const ContentPart = z.strictObject({ type: z.literal('text'), text: z.string() });

export const ChatMessage = z
  .strictObject({
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.union([z.string(), z.array(ContentPart).min(1)]),
    name: z.string().max(64).optional(),
  })
  .openapi('ChatMessage');

export const ChatCompletionRequest = z
  .strictObject({
    model: Model,
    messages: z.array(ChatMessage).min(1),
    max_completion_tokens: z.number().int().min(1).max(32_768).optional(),
    ...Sampling,
  })
  .openapi('ChatCompletionRequest');

export const CompletionRequest = z
  .strictObject({
    model: Model,
    prompt: z.union([z.string(), z.array(z.string()).min(1).max(16)]),
    echo: z.boolean().optional(),
    ...Sampling,
  })
  .openapi('CompletionRequest');

const Usage = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() });
const FinishReason = z.enum(['stop', 'length']).nullable();

export const ChatCompletion = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: UnixSeconds,
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({ role: z.literal('assistant'), content: z.string().nullable() }),
        finish_reason: FinishReason,
      }),
    ),
    usage: Usage.optional(),
  })
  .openapi('ChatCompletion');

export const Completion = z
  .object({
    id: z.string(),
    object: z.literal('text_completion'),
    created: UnixSeconds,
    model: z.string(),
    choices: z.array(z.object({ index: z.number().int(), text: z.string(), finish_reason: FinishReason })),
    usage: Usage.optional(),
  })
  .openapi('Completion');

export const EventStream = z
  .string()
  .openapi({ description: 'Server-sent events: `data: <chunk JSON>` per token batch, then `data: [DONE]`.' });

export const ModelObject = z
  .object({ id: z.string(), object: z.literal('model'), created: UnixSeconds, owned_by: z.string() })
  .openapi('Model');

export const ModelList = z.object({ object: z.literal('list'), data: z.array(ModelObject) }).openapi('ModelList');
