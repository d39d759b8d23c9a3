/** The CLI's pieces that need no stack: where it connects, and how a job's progress reads. */
import { describe, expect, test } from 'vitest';
import { connection, DEFAULT_BASE_URL } from '../../cli/connection.ts';
import { CliError } from '../../cli/errors.ts';
import { duration, progressLine, stepMetrics } from '../../cli/progress.ts';

describe('connection', () => {
  test('flags over the environment over the local default', () => {
    const env = { RANKGATE_BASE_URL: 'https://env.example', RANKGATE_API_KEY: 'rg-env' };
    expect(connection({}, env)).toEqual({ baseUrl: 'https://env.example', apiKey: 'rg-env' });
    expect(connection({ baseUrl: 'https://flag.example', apiKey: 'rg-flag' }, env)).toEqual({
      baseUrl: 'https://flag.example',
      apiKey: 'rg-flag',
    });
    expect(connection({ apiKey: 'rg-x' }, {})).toEqual({ baseUrl: DEFAULT_BASE_URL, apiKey: 'rg-x' });
  });

  test('takes the URL an OpenAI client is given (with /v1) as well as the bare origin', () => {
    expect(connection({ baseUrl: 'https://api.example/v1/', apiKey: 'k' }, {}).baseUrl).toBe('https://api.example');
    expect(connection({ baseUrl: 'https://api.example/rankgate/', apiKey: 'k' }, {}).baseUrl).toBe('https://api.example/rankgate');
  });

  test('no key, or a base URL that is not http(s), is a usage error (exit 2) that says what to set', () => {
    const fails = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err instanceof CliError ? { message: err.message, exitCode: err.exitCode } : err;
      }
      throw new Error('did not fail');
    };
    expect(fails(() => connection({}, {}))).toEqual({ message: 'no API key: pass --api-key or set RANKGATE_API_KEY', exitCode: 2 });
    expect(fails(() => connection({ baseUrl: 'localhost:8787', apiKey: 'k' }, {}))).toMatchObject({ exitCode: 2 });
    expect(fails(() => connection({ baseUrl: 'not a url', apiKey: 'k' }, {}))).toMatchObject({ exitCode: 2 });
  });
});

describe('progress', () => {
  test("a metrics event's data as one line: bar, step of total, loss, tokens/s, ETA", () => {
    const data = { step: 3, total_steps: 12, train_loss: 1.234567, tokens_per_s: 840, eta_s: 125, epoch: 1 };
    expect(progressLine(stepMetrics(data)!)).toBe('[######------------------]  step 3/12  loss 1.2346  840 tok/s  ETA 2:05');
    expect(progressLine(stepMetrics({ step: 7 })!)).toBe('step 7');
    expect(stepMetrics({ message: 'no step' })).toBeNull();
    expect(stepMetrics(null)).toBeNull();
  });

  test('durations', () => {
    expect([0, 59, 61, 3600 + 62].map(duration)).toEqual(['0:00', '0:59', '1:01', '1:01:02']);
  });
});
