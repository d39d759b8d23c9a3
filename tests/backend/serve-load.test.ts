/** The serve benchmark's throughput counts tokens where they were delivered (bench/serve-load.ts). */
import { describe, expect, it } from 'vitest';
import { tokensWithin } from '../../bench/serve-load.ts';

describe('tokensWithin', () => {
  it('counts a stream’s usage tokens by the content chunks that arrived inside the window', () => {
    // 8 tokens over 4 chunks at 10, 20, 30, 40: the window [15, 35) saw 2 chunks, so half the tokens.
    expect(tokensWithin(8, [10, 20, 30, 40], 45, 15, 35)).toBe(4);
    expect(tokensWithin(8, [10, 20, 30, 40], 45, 0, 100)).toBe(8);
    expect(tokensWithin(8, [10, 20, 30, 40], 45, 41, 100)).toBe(0);
  });

  it('includes the window’s start and excludes its end, so adjacent windows never count a token twice', () => {
    const chunks = [10, 20, 30, 40];
    expect(tokensWithin(4, chunks, 45, 0, 20) + tokensWithin(4, chunks, 45, 20, 100)).toBe(4);
    expect(tokensWithin(4, chunks, 45, 20, 21)).toBe(1);
  });

  it('puts every token at the stream’s end when it had no content chunk', () => {
    expect(tokensWithin(3, [], 50, 40, 60)).toBe(3);
    expect(tokensWithin(3, [], 50, 0, 50)).toBe(0);
  });

  it('counts a drain after the window as nothing: the older measure charged it to the run', () => {
    // A request sent inside the window [0, 30) whose tokens arrive at 28..31: only those before 30 count.
    expect(tokensWithin(4, [28, 29, 30, 31], 32, 0, 30)).toBe(2);
  });
});
