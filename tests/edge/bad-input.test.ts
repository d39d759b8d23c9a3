import { describe, expect, it } from 'vitest';
import { call, createTenant, expectError, expectJson } from './api.ts';
import { registerBase } from './fixtures.ts';

describe('bad input answers 4xx in the OpenAI shape, saying what to change', () => {
  it('malformed JSON', async () => {
    const t = await createTenant();
    const error = await expectError(
      '/v1/base-models',
      { key: t.key, body: '{"name": "x",', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_json',
    );
    expect(error.message).toContain('not valid JSON');
    expect(error.type).toBe('invalid_request_error');
  });

  it('JSON that is not UTF-8', async () => {
    const t = await createTenant();
    const utf8 = new TextEncoder();
    const json = (name: Uint8Array) =>
      new Uint8Array([...utf8.encode('{"name": "'), ...name, ...utf8.encode('", "storage_prefix": "m/"}')]);
    // A Latin-1 "é", a lone byte, and a UTF-16 surrogate encoded as UTF-8: each used to become U+FFFD silently.
    for (const bad of [[0xe9], [0xff], [0xed, 0xa0, 0x80]]) {
      const error = await expectError(
        '/v1/base-models',
        { key: t.key, body: json(new Uint8Array(bad)), headers: { 'content-type': 'application/json' } },
        400,
        'invalid_json',
      );
      expect(error.message).toContain('not valid UTF-8');
    }
    // A prompt is any string: U+FFFD in it went through to routing (here a 404 for the unknown model).
    const prompt = new Uint8Array([
      ...utf8.encode('{"model": "llama-70b", "messages": [{"role": "user", "content": "caf'),
      0xe9,
      ...utf8.encode('"}]}'),
    ]);
    await expectError(
      '/v1/chat/completions',
      { key: t.key, body: prompt, headers: { 'content-type': 'application/json' } },
      400,
      'invalid_json',
    );
    // Well-formed UTF-8 passes on to validation, which names the field.
    const accented = await expectError(
      '/v1/base-models',
      { key: t.key, body: json(utf8.encode('modèle')), headers: { 'content-type': 'application/json; charset=utf-8' } },
      400,
      'invalid_field',
    );
    expect(accented.param).toBe('name');
  });

  it('a name or id far longer than any is refused, not echoed back', async () => {
    const t = await createTenant();
    const long = 'a'.repeat(100_000);
    const param = await expectError(`/v1/adapters/${long}`, { key: t.key }, 400, 'invalid_field');
    expect(param.message.length).toBeLessThan(1000);
    const body = await expectError(
      '/v1/fine_tuning/jobs',
      { key: t.key, body: { model: long, training_file: 'file-x' } },
      400,
      'invalid_field',
    );
    expect(body.param).toBe('model');
    expect(body.message.length).toBeLessThan(1000);
  });

  it('unknown fields, at the top and nested', async () => {
    const t = await createTenant();
    const top = await expectError(
      '/v1/base-models',
      { key: t.key, body: { name: 'x', storage_prefix: 'models/x/', colour: 'red' } },
      400,
      'unknown_field',
    );
    expect(top).toMatchObject({ param: 'colour' });
    expect(top.message).toContain('Unknown field "colour"');
    expect(top.message).toContain('remove it');
    await registerBase(t.key);
    const form = new FormData();
    form.set('purpose', 'fine-tune');
    form.set('file', new File(['{"prompt": "a", "completion": "b"}'], 'x.jsonl'));
    const file = (await (await call('/v1/files', { key: t.key, body: form })).json()) as any;
    const nested = await expectError(
      '/v1/fine_tuning/jobs',
      { key: t.key, body: { model: 'tiny-llama', training_file: file.id, hyperparameters: { epochs: 3 } } },
      400,
      'unknown_field',
    );
    expect(nested.param).toBe('hyperparameters.epochs');
    expect(nested.message).toContain('inside "hyperparameters"');
    await expectError(
      '/v1/chat/completions',
      { key: t.key, body: { model: 'tiny-llama', messages: [{ role: 'user', content: 'x' }], colour: 'red' } },
      400,
      'unknown_field',
    );
    // An OpenAI option rankgate does not serve is named as such, not called unknown.
    const served = await expectError(
      '/v1/chat/completions',
      { key: t.key, body: { model: 'tiny-llama', messages: [{ role: 'user', content: 'x' }], functions: [] } },
      400,
      'unsupported_parameter',
    );
    expect(served).toMatchObject({ param: 'functions' });
    await expectError('/v1/adapters?colour=red', { key: t.key }, 400, 'unknown_field');
  });

  it('a chat request with both max_tokens and max_completion_tokens is refused, as OpenAI does: which applies would be a guess', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const both = await expectError(
      '/v1/chat/completions',
      { key: t.key, body: { model: 'tiny-llama', messages: [{ role: 'user', content: 'x' }], max_tokens: 4, max_completion_tokens: 8 } },
      400,
      'invalid_field',
    );
    expect(both.param).toBe('max_tokens');
    expect(both.message).toContain('max_completion_tokens');
  });

  it('wrong types and missing fields name the field and the expected type', async () => {
    const t = await createTenant();
    const wrong = await expectError(
      '/v1/base-models',
      { key: t.key, body: { name: 42, storage_prefix: 'models/x/' } },
      400,
      'invalid_field',
    );
    expect(wrong.param).toBe('name');
    expect(wrong.message).toMatch(/expected string/);
    const missing = await expectError('/v1/base-models', { key: t.key, body: { name: 'x' } }, 400, 'invalid_field');
    expect(missing.param).toBe('storage_prefix');
    expect(missing.message).toContain('Missing required field "storage_prefix"');
    const notObject = await expectError(
      '/v1/base-models',
      { key: t.key, body: '[1, 2]', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_field',
    );
    expect(notObject.message).toMatch(/expected object/);
    await expectError(
      '/v1/chat/completions',
      { key: t.key, body: { model: 'tiny-llama', messages: [{ role: 'user', content: 'x' }], temperature: 'hot' } },
      400,
      'invalid_field',
    );
    await expectError('/v1/chat/completions', { key: t.key, body: { model: 'tiny-llama', messages: [] } }, 400, 'invalid_field');
    await expectError('/v1/adapters?limit=1000', { key: t.key }, 400, 'invalid_field');
    expect(
      (await expectError('/v1/base-models', { key: t.key, body: { name: 'x', storage_prefix: 'tenants/other/' } }, 400, 'invalid_field'))
        .message,
    ).toContain('not under "tenants/"');
  });

  it("a base model's storage prefix cannot reach another tenant's files, however it is spelled", async () => {
    const t = await createTenant();
    const other = await createTenant('other');
    const { store } = await import('./fixtures.ts');
    const hidden = `tenants/${other.id}/models/x/`;
    await store.put(`${hidden}config.json`, (await store.getBytes('models/tiny-llama/config.json'))!);
    await store.put(`${hidden}model.safetensors`, new Uint8Array(8));
    for (const prefix of [
      `./${hidden}`,
      `.//${hidden}`,
      `models/../${hidden}`,
      `models/./../${hidden}`,
      `/${hidden}`,
      `models//../../${hidden}`,
      `models/%2e%2e/${hidden}`,
      `models\\..\\${hidden}`,
    ]) {
      const error = await expectError('/v1/base-models', { key: t.key, body: { name: 'x', storage_prefix: prefix } }, 400, 'invalid_field');
      expect(error.param).toBe('storage_prefix');
      expect(error.message).toContain('none of them "." or ".."');
    }
  });

  it('adapter configs with patterns a backtracking engine would stall on, or RE2 cannot run, are rejected at commit', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const { fixtureAdapter, uploadAdapter } = await import('./fixtures.ts');
    const files = await fixtureAdapter('task_a');
    const config = JSON.parse(new TextDecoder().decode(files.config));
    const withConfig = (extra: Record<string, unknown>) => ({
      ...files,
      config: new TextEncoder().encode(JSON.stringify({ ...config, ...extra })),
    });
    const commit = async (name: string, extra: Record<string, unknown>) => {
      const res = await uploadAdapter(t.key, 'tiny-llama', name, withConfig(extra));
      expect(res.status).toBe(422);
      return ((await res.json()) as any).error;
    };
    // Over 20 s of backtracking per module path before; now it simply matches nothing.
    expect(await commit('evil', { target_modules: '([\\w.]+)+!' })).toMatchObject({
      code: 'unknown_target_modules',
      param: 'target_modules',
    });
    expect(await commit('lookahead', { target_modules: '^(?!.*mlp).*_proj' })).toMatchObject({
      code: 'unsupported_pattern',
      param: 'target_modules',
    });
    expect(await commit('long', { rank_pattern: { ['q_proj|'.repeat(80)]: 2 } })).toMatchObject({
      code: 'pattern_too_long',
      param: 'rank_pattern',
    });
    // adapter_config.json is JSON too: a Latin-1 byte is refused, not read as U+FFFD.
    const head = new TextEncoder().encode(`${JSON.stringify(config).slice(0, -1)}, "note": "caf`);
    const res = await uploadAdapter(t.key, 'tiny-llama', 'latin1', { ...files, config: new Uint8Array([...head, 0xe9, 0x22, 0x7d]) });
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).error).toMatchObject({
      code: 'bad_adapter_config',
      message: expect.stringContaining('not valid UTF-8'),
    });
  });

  it("an adapter whose safetensors header is far larger than any adapter's is rejected before it is read", async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const { fixtureAdapter, uploadAdapter } = await import('./fixtures.ts');
    const { MAX_ADAPTER_HEADER_BYTES } = await import('../../edge/adapters/files.ts');
    const header = new Uint8Array(MAX_ADAPTER_HEADER_BYTES + 2).fill(0x20);
    header[0] = 0x7b;
    header[header.length - 1] = 0x7d;
    const model = new Uint8Array(8 + header.length);
    new DataView(model.buffer).setBigUint64(0, BigInt(header.length), true);
    model.set(header, 8);
    const res = await uploadAdapter(t.key, 'tiny-llama', 'huge-header', { ...(await fixtureAdapter('task_a')), model }, { via: 'edge' });
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).error).toMatchObject({ code: 'safetensors_header_too_large', param: 'adapter_model.safetensors' });
  });

  it('oversize bodies and the wrong content type', async () => {
    const t = await createTenant();
    const big = JSON.stringify({ model: 'tiny-llama', prompt: 'x'.repeat(1100 * 1024) });
    const error = await expectError(
      '/v1/completions',
      { key: t.key, body: big, headers: { 'content-type': 'application/json' } },
      413,
      'body_too_large',
    );
    expect(error.message).toContain('send a smaller body');
    await expectError(
      '/v1/base-models',
      { key: t.key, body: 'name=x', headers: { 'content-type': 'text/plain' } },
      415,
      'unsupported_media_type',
    );
  });

  it('unknown model ids and unknown objects', async () => {
    const t = await createTenant();
    await registerBase(t.key);
    const error = await expectError(
      '/v1/chat/completions',
      { key: t.key, body: { model: 'llama-70b', messages: [{ role: 'user', content: 'x' }] } },
      404,
      'model_not_found',
    );
    expect(error).toMatchObject({ param: 'model' });
    expect(error.message).toContain('GET /v1/models');
    await expectError('/v1/adapters/adapter-nope', { key: t.key }, 404, 'adapter_not_found');
    await expectError(
      '/v1/base-models',
      { key: t.key, body: { name: 'ghost', storage_prefix: 'models/ghost/' } },
      400,
      'base_model_files_missing',
    );
  });

  it('base model configs that cannot be served', async () => {
    const t = await createTenant();
    const { store } = await import('./fixtures.ts');
    await store.put(
      'models/gpt2/config.json',
      JSON.stringify({
        model_type: 'gpt2',
        vocab_size: 10,
        hidden_size: 8,
        intermediate_size: 8,
        num_hidden_layers: 1,
        num_attention_heads: 2,
      }),
    );
    await store.put('models/gpt2/model.safetensors', new Uint8Array(8));
    // A valid config.json but for one Latin-1 byte in a string: refused, not read as U+FFFD.
    const config = (await store.getText('models/tiny-llama/config.json'))!;
    const head = new TextEncoder().encode(`${config.slice(0, config.lastIndexOf('}'))},"note":"caf`);
    await store.put('models/latin1/config.json', new Uint8Array([...head, 0xe9, 0x22, 0x7d]));
    await store.put('models/latin1/model.safetensors', new Uint8Array(8));
    const latin1 = await expectError(
      '/v1/base-models',
      { key: t.key, body: { name: 'latin1', storage_prefix: 'models/latin1/' } },
      400,
      'bad_model_config',
    );
    expect(latin1.message).toContain('not valid UTF-8 JSON');
    const error = await expectError(
      '/v1/base-models',
      { key: t.key, body: { name: 'gpt2', storage_prefix: 'models/gpt2/' } },
      400,
      'unsupported_architecture',
    );
    expect(error.message).toContain('Llama, Mistral and Qwen2');
  });

  it('base model tokenizer_config.json that is not JSON, or whose chat template does not parse', async () => {
    const t = await createTenant();
    const { store } = await import('./fixtures.ts');
    const withConfig = async (name: string, tokenizerConfig: string) => {
      for (const file of ['config.json', 'model.safetensors'])
        await store.put(`models/${name}/${file}`, (await store.getBytes(`models/tiny-llama/${file}`))!);
      await store.put(`models/${name}/tokenizer_config.json`, tokenizerConfig);
      return { key: t.key, body: { name, storage_prefix: `models/${name}/` } };
    };
    const notJson = await expectError('/v1/base-models', await withConfig('tok-not-json', '{"chat_template": '), 400, 'bad_tokenizer');
    expect(notJson.message).toContain('tokenizer_config.json is not valid UTF-8 JSON');
    const syntax = await expectError(
      '/v1/base-models',
      await withConfig('tok-bad-template', JSON.stringify({ chat_template: '{% for m in messages %}{{ m.content }}' })),
      400,
      'bad_chat_template',
    );
    expect(syntax.message).toContain('chat template (chat_template in tokenizer_config.json) has a syntax error');
    const good = JSON.stringify({ eos_token: '</s>', chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}' });
    await expectJson('/v1/base-models', await withConfig('tok-good', good), 201);
  });

  it('internal routes refuse calls without the backend secret', async () => {
    await expectError('/internal/v1/tasks/claim', { body: { backend_id: 'x' } }, 401, 'invalid_credentials');
    await expectError('/internal/v1/tasks/claim', { key: 'rg-tenant-key', body: { backend_id: 'x' } }, 401, 'invalid_credentials');
  });
});
