/**
 * OpenAI's completion shapes, the fields rankgate serves. Unknown fields are refused, not silently dropped; OpenAI
 * options rankgate does not serve (tools, JSON modes, logit_bias, …) are refused as `unsupported_parameter`, by name.
 */
import { z } from '@hono/zod-openapi';
import { UnixSeconds } from './fields.ts';
import type { Refusal } from './zod-issues.ts';

/**
 * The most prompt text one request may carry (UTF-8 bytes, all messages or prompts together), whatever the model:
 * the edge refuses more before forwarding, and a backend before tokenizing. A model's own bound is tighter.
 */
export const MAX_PROMPT_BYTES = 512 * 1024;

/**
 * The most text a base model's chat template may render for one request (UTF-8 bytes): room for the messages
 * (MAX_PROMPT_BYTES) and as much again for the template's own markup; a template that writes more is refused.
 */
export const MAX_RENDERED_PROMPT_BYTES = 2 * MAX_PROMPT_BYTES;

/** UTF-8 length without encoding the string (a lone surrogate counts 3, as TextEncoder writes U+FFFD). */
export function utf8Bytes(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function refuse(ctx: z.RefinementCtx, code: string, message: string): void {
  ctx.addIssue({ code: 'custom', message, params: { code } satisfies Refusal });
}

/** Prompt texts over MAX_PROMPT_BYTES together are refused before anything else looks at them (completions and embeddings). */
export function promptBytesCheck<T>(texts: (value: T) => string[]) {
  return (value: T, ctx: z.RefinementCtx) => {
    const bytes = texts(value).reduce((sum, t) => sum + utf8Bytes(t), 0);
    if (bytes > MAX_PROMPT_BYTES)
      refuse(ctx, 'prompt_too_large', `The prompt is ${bytes} bytes; requests take at most ${MAX_PROMPT_BYTES} bytes of prompt text.`);
  };
}

/** An OpenAI option rankgate does not serve: absent (or null) is fine, anything else is refused by name. */
function notServed(name: string, why: string) {
  return z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined && v !== null) refuse(ctx, 'unsupported_parameter', `"${name}" is not supported: ${why} Leave it out (or null).`);
    })
    .openapi({ description: `Not supported; refused with \`unsupported_parameter\`. ${why}` });
}

const TEXT_ONLY = 'rankgate generates plain text with LoRA adapters;';

const ChatNotServed = {
  tools: notServed('tools', `${TEXT_ONLY} tool calls are not served.`),
  tool_choice: notServed('tool_choice', `${TEXT_ONLY} tool calls are not served.`),
  parallel_tool_calls: notServed('parallel_tool_calls', `${TEXT_ONLY} tool calls are not served.`),
  functions: notServed('functions', `${TEXT_ONLY} function calls are not served.`),
  function_call: notServed('function_call', `${TEXT_ONLY} function calls are not served.`),
  logit_bias: notServed('logit_bias', 'biasing token logits is not implemented.'),
  audio: notServed('audio', `${TEXT_ONLY} audio is not served.`),
  modalities: notServed('modalities', `${TEXT_ONLY} text is the only modality.`),
  prediction: notServed('prediction', 'predicted outputs are not implemented.'),
  reasoning_effort: notServed('reasoning_effort', 'the models served are not reasoning models.'),
  web_search_options: notServed('web_search_options', 'web search is not served.'),
  verbosity: notServed('verbosity', 'the models served have no verbosity setting.'),
  metadata: notServed('metadata', 'rankgate stores no completions to tag.'),
  service_tier: notServed('service_tier', 'rankgate has one service tier.'),
  prompt_cache_key: notServed('prompt_cache_key', 'rankgate keeps no prompt cache across requests.'),
  // Not storing is what rankgate does anyway: only `store: true` asks for something it does not do.
  store: z
    .boolean()
    .nullable()
    .optional()
    .superRefine((v, ctx) => {
      if (v) refuse(ctx, 'unsupported_parameter', '"store": true is not supported: rankgate stores no completions. Leave it out or false.');
    }),
  safety_identifier: z.string().max(256).optional().openapi({ description: 'Accepted, like `user`.' }),
};

const CompletionNotServed = {
  logit_bias: notServed('logit_bias', 'biasing token logits is not implemented.'),
  suffix: notServed('suffix', 'insertion (text after the completion) is not implemented.'),
  best_of: notServed('best_of', 'server-side best-of sampling is not implemented; ask for n choices instead.'),
};

/**
 * Plain text, any JSON object, or JSON under a schema. The JSON modes are decoded under the schema's grammar
 * (constrained decoding), so every complete answer parses and validates; one cut short by max_tokens does not.
 */
const ResponseFormat = z
  .discriminatedUnion('type', [
    z.looseObject({ type: z.literal('text') }),
    z.looseObject({ type: z.literal('json_object') }),
    z.looseObject({
      type: z.literal('json_schema'),
      json_schema: z.looseObject({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a name of 1 to 64 letters, digits, underscores or dashes'),
        description: z.string().optional(),
        schema: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      }),
    }),
  ])
  .openapi({
    description:
      '`{"type": "text"}` (the default); `{"type": "json_object"}`: the answer is a JSON object; `{"type": "json_schema", "json_schema": {"name", "schema"}}`: the answer is JSON valid under the schema (without a schema, any object). Either JSON mode writes compact JSON (no whitespace between elements) and is decoded under the schema\'s grammar, so an answer that ends with finish_reason "stop" always parses and validates. A schema construct the grammar engine (xgrammar) cannot compile is refused with 400 `unsupported_json_schema`, naming it. Chat completions only.',
  });

export const Model = z.string().min(1).max(300).openapi({
  description:
    '"<base>", "<base>:<adapter>", "<base>:<merge>" or "<base>:<merge>/<task>"; an adapter or task as "<name>@v<n>" pins one of its versions (a bare name serves the current one); "<base>@int8" or "<base>@int4" in place of "<base>" serves the base model with group-wise int8 or int4 weights (adapters on top unchanged).',
  example: 'tiny-llama:task_a',
});

/** Most adapters one request may mix (`adapters`). */
export const MAX_MIXED_ADAPTERS = 8;

/**
 * The default bound on a mix's total rank, Σ rᵢ: the row is served with the concatenated factors of its adapters,
 * and every row of a batch is padded to the largest rank any row needs, so one wide mix slows its whole batch.
 * The edge's MAX_MIX_RANK var and the backend's MAX_MIX_RANK setting both default to it.
 */
export const DEFAULT_MAX_MIX_RANK = 128;

/**
 * `adapters`: a weighted set of the tenant's adapters of the base model named in `model`, served as one adapter,
 * Σ wᵢ·ΔWᵢ, exactly (each row's own concatenated factors). An extension field: the OpenAI SDKs pass it through
 * (`extra_body` in Python; an extra property of the request object in Node).
 */
export const AdapterMix = z
  .array(
    z.strictObject({
      name: z
        .string()
        .min(1)
        .max(300)
        .openapi({ description: 'An adapter of the base model in `model`: its name, `<name>@v<n>` for one version, or id.' }),
      weight: z
        .number()
        .openapi({ description: 'Its scale wᵢ in Σ wᵢ·ΔWᵢ: any finite number but 0; negative subtracts the task (task negation).' }),
    }),
  )
  .superRefine((mix, ctx) => {
    if (mix.length === 0) refuse(ctx, 'invalid_adapters', '"adapters" is empty; list at least one adapter, or leave the field out.');
    if (mix.length > MAX_MIXED_ADAPTERS)
      refuse(ctx, 'too_many_adapters', `"adapters" lists ${mix.length} adapters; a request mixes at most ${MAX_MIXED_ADAPTERS}.`);
    const names = new Set<string>();
    for (const { name, weight } of mix) {
      if (weight === 0 || !Number.isFinite(weight))
        refuse(
          ctx,
          'invalid_adapters',
          `adapter "${name}" has weight ${weight}; give a finite weight other than 0, or leave the adapter out.`,
        );
      if (names.has(name))
        refuse(ctx, 'invalid_adapters', `adapter "${name}" is listed twice in "adapters"; list each once, with the sum of its weights.`);
      names.add(name);
    }
  })
  .openapi({
    description: `Mixes up to ${MAX_MIXED_ADAPTERS} adapters of the base model named in \`model\` (which must then be "<base>", not an adapter): the request is served with Σ wᵢ·ΔWᵢ, exactly. Their ranks together may be at most the edge's MAX_MIX_RANK (default ${DEFAULT_MAX_MIX_RANK}).`,
    example: [
      { name: 'task_a', weight: 0.7 },
      { name: 'task_b', weight: 0.3 },
    ],
  });

const Sampling = {
  max_tokens: z.number().int().min(1).max(32_768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  n: z.number().int().min(1).max(8).optional(),
  stream: z.boolean().optional(),
  // include_obfuscation is accepted and has nothing to do: rankgate pads no stream chunks.
  stream_options: z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).optional(),
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

type Message = z.infer<typeof ChatMessage>;
const messageText = (m: Message) => (typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''));

/** Most alternatives per token that `top_logprobs` (chat) and `logprobs` (text) may ask for, as OpenAI allows. */
export const MAX_TOP_LOGPROBS = { chat: 20, text: 5 } as const;

export const ChatCompletionRequest = z
  .strictObject({
    model: Model,
    messages: z
      .array(ChatMessage)
      .min(1)
      .superRefine(promptBytesCheck((ms: Message[]) => ms.map(messageText))),
    max_completion_tokens: z
      .number()
      .int()
      .min(1)
      .max(32_768)
      .optional()
      .openapi({ description: 'The most tokens to generate; `max_tokens` is its older name. Give one of the two, not both.' }),
    logprobs: z
      .boolean()
      .nullable()
      .optional()
      .openapi({ description: "Log-probabilities of the chosen tokens (the model's own distribution)." }),
    top_logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS.chat).nullable().optional(),
    response_format: ResponseFormat.optional(),
    adapters: AdapterMix.optional(),
    ...Sampling,
    ...ChatNotServed,
  })
  .superRefine((req, ctx) => {
    // max_tokens is the older name of max_completion_tokens: with both, which one applies would be a guess.
    if (req.max_tokens !== undefined && req.max_completion_tokens !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['max_tokens'],
        message: 'give max_completion_tokens or max_tokens (its older name), not both',
      });
  })
  .openapi('ChatCompletionRequest');

export const CompletionRequest = z
  .strictObject({
    model: Model,
    prompt: z
      .union([z.string(), z.array(z.string()).min(1).max(16)])
      .superRefine(promptBytesCheck((p: string | string[]) => (typeof p === 'string' ? [p] : p))),
    echo: z.boolean().optional(),
    logprobs: z
      .number()
      .int()
      .min(0)
      .max(MAX_TOP_LOGPROBS.text)
      .nullable()
      .optional()
      .openapi({ description: 'Log-probabilities of the chosen tokens and of this many likeliest alternatives.' }),
    adapters: AdapterMix.optional(),
    ...Sampling,
    ...CompletionNotServed,
  })
  .openapi('CompletionRequest');

const Usage = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() });
const FinishReason = z.enum(['stop', 'length']).nullable();

const TopLogprob = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()).nullable() });

/** Chat's log-probabilities: one entry per token of the content, with its likeliest alternatives. */
export const ChatLogprobs = z
  .object({ content: z.array(TopLogprob.extend({ top_logprobs: z.array(TopLogprob) })).nullable() })
  .openapi('ChatLogprobs');

/** Text completions' (legacy) log-probabilities: parallel arrays, offsets into the choice's text. */
export const CompletionLogprobs = z
  .object({
    tokens: z.array(z.string()),
    token_logprobs: z.array(z.number().nullable()),
    top_logprobs: z.array(z.record(z.string(), z.number())).nullable(),
    text_offset: z.array(z.number().int()),
  })
  .openapi('CompletionLogprobs');

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
        logprobs: ChatLogprobs.nullable().optional(),
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
    choices: z.array(
      z.object({
        index: z.number().int(),
        text: z.string(),
        logprobs: CompletionLogprobs.nullable().optional(),
        finish_reason: FinishReason,
      }),
    ),
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
