/**
 * Training datasets as JSONL, in the two shapes users already have:
 *   {"prompt": "...", "completion": "..."}                       (completion-only loss)
 *   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}   (assistant-only loss)
 * Pure module: the edge checks every line of an upload with it before accepting the file, and the trainer
 * parses the same way, so a file the edge accepted never fails to parse in training.
 */

export type Example =
  | { kind: 'completion'; prompt: string; completion: string }
  | { kind: 'chat'; messages: { role: 'system' | 'user' | 'assistant'; content: string }[] };

export interface LineError {
  line: number;
  message: string;
}

export interface ParsedDataset {
  examples: Example[];
  /** 1-based line number of each example. */
  lines: number[];
  /** The first bad lines (up to the limit asked for). */
  errors: LineError[];
  /** How many lines were bad in all. */
  errorCount: number;
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** Parses one non-empty line; returns an example or a message saying what is wrong with it. */
export function parseExampleLine(text: string): Example | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'expected a JSON object';
  const o = v as Record<string, unknown>;
  if ('messages' in o) {
    if (!Array.isArray(o.messages) || o.messages.length === 0) return '"messages" must be a non-empty array';
    const messages: { role: 'system' | 'user' | 'assistant'; content: string }[] = [];
    for (const [i, m] of o.messages.entries()) {
      if (m === null || typeof m !== 'object') return `messages[${i}] must be an object with "role" and "content"`;
      const { role, content } = m as Record<string, unknown>;
      if (typeof role !== 'string' || !ROLES.has(role)) return `messages[${i}].role must be "system", "user" or "assistant"`;
      if (typeof content !== 'string') return `messages[${i}].content must be a string`;
      messages.push({ role: role as 'system' | 'user' | 'assistant', content });
    }
    if (!messages.some((m) => m.role === 'assistant' && m.content.length > 0)) return 'no non-empty assistant message to learn from';
    return { kind: 'chat', messages };
  }
  if ('prompt' in o || 'completion' in o) {
    if (typeof o.prompt !== 'string') return '"prompt" must be a string';
    if (typeof o.completion !== 'string' || o.completion.length === 0) return '"completion" must be a non-empty string';
    return { kind: 'completion', prompt: o.prompt, completion: o.completion };
  }
  return 'expected {"prompt", "completion"} or {"messages": [...]}';
}

/** Parses a whole JSONL text. Blank lines are skipped; every bad line is reported with its number. */
export function parseDataset(text: string, maxErrors = 20): ParsedDataset {
  const examples: Example[] = [];
  const lines: number[] = [];
  const errors: LineError[] = [];
  let errorCount = 0;
  const all = text.split('\n');
  for (let i = 0; i < all.length; i++) {
    const line = all[i].trim();
    if (line === '') continue;
    const parsed = parseExampleLine(line);
    if (typeof parsed === 'string') {
      errorCount++;
      if (errors.length < maxErrors) errors.push({ line: i + 1, message: parsed });
    } else {
      examples.push(parsed);
      lines.push(i + 1);
    }
  }
  return { examples, lines, errors, errorCount };
}

/** One message naming the first bad lines, for a 4xx answer. */
export function describeErrors(errors: LineError[], errorCount = errors.length): string {
  const shown = errors.slice(0, 5);
  return (
    shown.map((e) => `line ${e.line}: ${e.message}`).join('; ') +
    (errorCount > shown.length ? `; and ${errorCount - shown.length} more bad lines` : '')
  );
}
