import { beforeAll, describe, expect, test } from 'vitest';
import { readModelFolder, type ModelFolder } from '../../gpu-backend/formats/files.ts';
import type { TextTokenizer } from '../../gpu-backend/formats/tokenizer.ts';
import { rng } from '../../gpu-backend/engine/sampling.ts';
import { examples, TASKS } from '../../gpu-backend/default-model/skills.ts';
import { clipGradNorm, scheduledLr } from '../../gpu-backend/train/adamw.ts';
import { encodeDataset, encodeExample, IGNORE } from '../../gpu-backend/train/data.ts';
import { Trainer, type Files, type TrainingEvent } from '../../gpu-backend/train/trainer.ts';
import { defaultModelTokenizer, FIXTURE, fixtureTrainingConfig } from './helpers.ts';
import { maxAbsDiff } from '../../gpu-backend/cli/parity.ts';
import { decodeSafetensors, toFloat32 } from '../../contracts/formats/safetensors.ts';

let base: ModelFolder;
let tok: TextTokenizer;
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');
const taskData = (n: number, seed: number) => jsonl(examples(TASKS[0], n, rng(seed)));

beforeAll(async () => {
  base = await readModelFolder(`${FIXTURE}/base`);
  tok = defaultModelTokenizer();
});

describe('datasets', () => {
  test('malformed lines are reported by line number before training', async () => {
    const text = [
      '{"prompt": "a", "completion": "b"}',
      '',
      'not json',
      '{"prompt": 3, "completion": "x"}',
      '{"messages": [{"role": "user", "content": "hi"}]}',
    ].join('\n');
    await expect(encodeDataset(text, tok, 32)).rejects.toThrow(
      /line 3: not valid JSON; line 4: "prompt" must be a string; line 5: no non-empty assistant message/,
    );
  });

  test('a file with no usable example is refused, and truncation is counted', async () => {
    await expect(encodeDataset('\n\n', tok, 32)).rejects.toThrow(/no usable example/);
    const long = jsonl([
      { prompt: 'x'.repeat(40), completion: 'yy' },
      { prompt: 'ab', completion: 'c'.repeat(40) },
    ]);
    await expect(encodeDataset(jsonl([{ prompt: 'x'.repeat(40), completion: 'yy' }]), tok, 32)).rejects.toThrow(/no usable example/);
    const data = await encodeDataset(long, tok, 32);
    expect(data).toMatchObject({ truncated: 2, dropped: 1 });
    expect(data.examples[0].ids).toHaveLength(32);
  });

  test('completion loss covers the completion and end of sequence only', async () => {
    const e = await encodeExample({ kind: 'completion', prompt: 'ab', completion: 'cd' }, tok);
    expect(e.ids).toEqual([...tok.encode('ab', true), ...tok.encode('cd'), tok.eosId]);
    expect(e.labels).toEqual([IGNORE, IGNORE, ...tok.encode('cd'), tok.eosId]);
  });

  test('chat loss covers assistant turns only, rendered with the chat template', async () => {
    const e = await encodeExample(
      {
        kind: 'chat',
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'yo' },
          { role: 'user', content: 'q' },
          { role: 'assistant', content: 'a' },
        ],
      },
      tok,
    );
    expect(tok.decode(e.ids, false)).toBe('<|system|>s</s><|user|>hi</s><|assistant|>yo</s><|user|>q</s><|assistant|>a</s>');
    const trained = e.ids.filter((_, i) => e.labels[i] !== IGNORE);
    expect(tok.decode(trained, false)).toBe('yo</s>a</s>');
  });
});

describe('optimizer pieces', () => {
  test('warm-up then linear or cosine decay, as transformers schedules them', () => {
    expect([0, 1, 2].map((s) => scheduledLr(1, 'linear', s, 10, 2))).toEqual([0, 0.5, 1]);
    expect(scheduledLr(1, 'linear', 6, 10, 2)).toBeCloseTo(0.5);
    expect(scheduledLr(1, 'cosine', 6, 10, 2)).toBeCloseTo(0.5);
    expect(scheduledLr(1, 'cosine', 4, 10, 2)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)));
  });

  test('global-norm clipping scales all gradients together', () => {
    const g = [Float32Array.from([3, 0]), Float32Array.from([0, 4])];
    expect(clipGradNorm(g, 1)).toBeCloseTo(5);
    expect([...g[0], ...g[1]].map((x) => +x.toFixed(5))).toEqual([0.6, 0, 0, 0.8]);
  });
});

describe('training', () => {
  test('a run is repeatable with a seed, and emits step, eval and checkpoint events', async () => {
    const data = await encodeDataset(taskData(16, 1), tok, 48);
    const val = await encodeDataset(taskData(8, 2), tok, 48);
    const events: TrainingEvent[] = [];
    const checkpoints: number[] = [];
    const run = async () => {
      const trainer = new Trainer(base, fixtureTrainingConfig({ checkpointEvery: 4, evalEvery: 4 }), data, val);
      const res = await trainer.run({ onEvent: (e) => events.push(e), onCheckpoint: async (step) => void checkpoints.push(step) });
      await trainer.release();
      return res;
    };
    const a = await run();
    const b = await run();
    expect(a.files.get('adapter_model.safetensors')).toEqual(b.files.get('adapter_model.safetensors'));
    expect(a.status).toBe('succeeded');
    expect(checkpoints.slice(0, 2)).toEqual([4, 8]);
    const steps = events.filter((e) => e.type === 'step');
    expect(steps[0]).toMatchObject({ step: 1, totalSteps: 8, learningRate: 0 });
    expect(steps.every((e) => e.type === 'step' && Number.isFinite(e.loss) && e.tokensPerSecond > 0 && e.etaSeconds >= 0)).toBe(true);
    expect(
      events
        .filter((e) => e.type === 'eval')
        .map((e) => e.step)
        .slice(0, 2),
    ).toEqual([4, 8]);
    const config_ = JSON.parse(new TextDecoder().decode(a.files.get('adapter_config.json')));
    expect(config_).toMatchObject({ r: 4, lora_alpha: 8, peft_type: 'LORA', base_model_name_or_path: 'tiny-llama' });
  });

  test('resume: N steps, stop, resume, N steps equals 2N uninterrupted steps', async () => {
    const data = await encodeDataset(taskData(24, 5), tok, 48);
    const straight = new Trainer(base, fixtureTrainingConfig({ gradAccumSteps: 2 }), data);
    const full = await straight.run();
    await straight.release();

    const saved = new Map<number, Files>();
    const first = new Trainer(base, fixtureTrainingConfig({ gradAccumSteps: 2, checkpointEvery: 3 }), data);
    const controller = new AbortController();
    await first.run({
      signal: controller.signal,
      onCheckpoint: async (step, files) => {
        saved.set(step, files);
        controller.abort();
      },
    });
    await first.release();
    expect([...saved.keys()]).toEqual([3]);

    const second = new Trainer(base, fixtureTrainingConfig({ gradAccumSteps: 2, checkpointEvery: 3 }), data);
    const resumed = await second.run({ resumeFrom: saved.get(3)! });
    await second.release();
    expect(resumed.step).toBe(full.step);
    expect(resumed.trainLoss).toBe(full.trainLoss);
    expect(resumed.files.get('adapter_model.safetensors')).toEqual(full.files.get('adapter_model.safetensors'));
  });

  test('gradient accumulation over micro-batches equals one larger batch', async () => {
    const data = await encodeDataset(taskData(8, 9), tok, 48);
    const one = new Trainer(base, fixtureTrainingConfig({ batchSize: 8, maxSteps: 1, warmupSteps: 0, schedule: 'constant' }), data);
    const two = new Trainer(
      base,
      fixtureTrainingConfig({ batchSize: 4, gradAccumSteps: 2, maxSteps: 1, warmupSteps: 0, schedule: 'constant' }),
      data,
    );
    const [a, b] = [await one.run(), await two.run()];
    await one.release();
    await two.release();
    expect(b.trainLoss).toBeCloseTo(a.trainLoss, 5);
    const weights = (r: typeof a) => decodeSafetensors(r.files.get('adapter_model.safetensors')!).tensors;
    for (const [name, t] of weights(a)) expect(maxAbsDiff(toFloat32(t), toFloat32(weights(b).get(name)!)), name).toBeLessThan(1e-6);
  });

  test('cancel stops between steps', async () => {
    const data = await encodeDataset(taskData(16, 11), tok, 48);
    const trainer = new Trainer(base, fixtureTrainingConfig(), data);
    const controller = new AbortController();
    const res = await trainer.run({ signal: controller.signal, onEvent: (e) => e.type === 'step' && e.step === 2 && controller.abort() });
    await trainer.release();
    expect(res).toMatchObject({ status: 'cancelled', step: 2 });
  });

  test('bad hyperparameters are refused before any training', async () => {
    const data = await encodeDataset(taskData(4, 1), tok, 48);
    expect(() => new Trainer(base, fixtureTrainingConfig({ learningRate: 5 }), data)).toThrow(/learning_rate/);
    expect(() => new Trainer(base, fixtureTrainingConfig({ batchSize: 0 }), data)).toThrow(/batch_size/);
    expect(() => new Trainer(base, fixtureTrainingConfig({ lora: { r: 0, alpha: 1, targetModules: ['q_proj'] } }), data)).toThrow(/rank/);
    expect(() => new Trainer(base, fixtureTrainingConfig({ lora: { r: 4, alpha: 1, targetModules: ['c_attn'] } }), data)).toThrow(/c_attn/);
  });
});
