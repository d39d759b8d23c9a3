/**
 * Synthetic string skills for rankgate's embedded default model. Each skill turns a random input into a prompt
 * ("<name>: <input>\n") and its one correct completion. `GENERAL_SKILLS` are what the base model is pretrained
 * on; `TASKS` are held out from pretraining — the base does them poorly and a LoRA adapter learns each one.
 * Generation is seeded, so the corpus and the task files are the same on every run.
 */

export type Random = () => number;

export interface Skill {
  name: string;
  make: (random: Random) => { input: string; output: string };
  /** Share of the pretraining corpus (general skills only; copying is what the tasks build on most). */
  weight?: number;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const WORDS = [
  'red',
  'fox',
  'sun',
  'map',
  'cat',
  'dog',
  'tree',
  'blue',
  'fast',
  'cold',
  'moon',
  'star',
  'fish',
  'bird',
  'rock',
  'wind',
  'leaf',
  'milk',
  'gold',
  'road',
  'ship',
  'door',
  'lamp',
  'king',
  'snow',
  'rain',
  'hill',
  'lake',
  'wolf',
  'bear',
];

const int = (random: Random, lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(random: Random, xs: ArrayLike<T>): T => xs[Math.floor(random() * xs.length)];
const letters = (random: Random, lo: number, hi: number) => Array.from({ length: int(random, lo, hi) }, () => pick(random, LOWER)).join('');
const words = (random: Random, lo: number, hi: number) => Array.from({ length: int(random, lo, hi) }, () => pick(random, WORDS));
const pad2 = (n: number) => String(n).padStart(2, '0');

/** Skills of the pretraining corpus: copying, case, order and counting, so the base learns the format. */
export const GENERAL_SKILLS: Skill[] = [
  {
    name: 'copy',
    weight: 4,
    make: (r) => {
      const s = r() < 0.5 ? letters(r, 3, 8) : words(r, 1, 4).join(' ');
      return { input: s, output: s };
    },
  },
  {
    name: 'upper',
    make: (r) => {
      const s = words(r, 1, 3).join(' ');
      return { input: s, output: s.toUpperCase() };
    },
  },
  {
    name: 'lower',
    make: (r) => {
      const s = words(r, 1, 3).join(' ').toUpperCase();
      return { input: s, output: s.toLowerCase() };
    },
  },
  {
    name: 'reverse',
    weight: 2,
    make: (r) => {
      const s = letters(r, 3, 10);
      return { input: s, output: [...s].reverse().join('') };
    },
  },
  {
    name: 'length',
    make: (r) => {
      const s = letters(r, 1, 15);
      return { input: s, output: String(s.length) };
    },
  },
  {
    name: 'first',
    make: (r) => {
      const w = words(r, 2, 4);
      return { input: w.join(' '), output: w[0] };
    },
  },
  {
    name: 'last',
    make: (r) => {
      const w = words(r, 2, 4);
      return { input: w.join(' '), output: w[w.length - 1] };
    },
  },
  {
    name: 'double',
    weight: 2,
    make: (r) => {
      const s = letters(r, 2, 6);
      return { input: s, output: s + s };
    },
  },
  {
    name: 'join',
    make: (r) => {
      const w = words(r, 2, 4);
      return { input: w.join(' '), output: w.join('-') };
    },
  },
  {
    name: 'next',
    make: (r) => {
      const n = int(r, 0, 98);
      return { input: String(n), output: String(n + 1) };
    },
  },
  {
    name: 'digits',
    make: (r) => {
      const n = int(r, 10, 9999);
      return { input: String(n), output: [...String(n)].join(' ') };
    },
  },
  {
    name: 'count',
    make: (r) => {
      const w = words(r, 1, 6);
      return { input: w.join(' '), output: String(w.length) };
    },
  },
];

/** The held-out tasks: each becomes an adapter. */
export const TASKS: Skill[] = [
  {
    name: 'reverse words',
    make: (r) => {
      const w = words(r, 2, 5);
      return { input: w.join(' '), output: [...w].reverse().join(' ') };
    },
  },
  {
    name: 'larger',
    make: (r) => {
      const a = int(r, 10, 99);
      const b = int(r, 10, 99);
      return { input: `${a} ${b}`, output: String(Math.max(a, b)) };
    },
  },
  {
    name: 'date to us',
    make: (r) => {
      const y = int(r, 1990, 2030);
      const m = int(r, 1, 12);
      const d = int(r, 1, 28);
      return { input: `${y}-${pad2(m)}-${pad2(d)}`, output: `${pad2(m)}/${pad2(d)}/${y}` };
    },
  },
  {
    name: 'acronym',
    make: (r) => {
      const w = words(r, 2, 5);
      return { input: w.join(' '), output: w.map((x) => x[0].toUpperCase()).join('') };
    },
  },
  {
    name: 'snake to camel',
    make: (r) => {
      const w = words(r, 2, 4);
      return {
        input: w.join('_'),
        output:
          w[0] +
          w
            .slice(1)
            .map((x) => x[0].toUpperCase() + x.slice(1))
            .join(''),
      };
    },
  },
  {
    name: 'remove vowels',
    make: (r) => {
      const w = words(r, 1, 3).join(' ');
      return { input: w, output: w.replace(/[aeiou]/g, '') };
    },
  },
];

/** The file-system name of a task ("reverse words" -> "reverse_words"). */
export function taskSlug(skill: Skill): string {
  return skill.name.replace(/\s+/g, '_');
}

export function prompt(skill: Skill, input: string): string {
  return `${skill.name}: ${input}\n`;
}

/** `n` distinct examples of a skill as {prompt, completion}. */
export function examples(
  skill: Skill,
  n: number,
  random: Random,
  exclude: Set<string> = new Set(),
): { prompt: string; completion: string }[] {
  const out: { prompt: string; completion: string }[] = [];
  const seen = new Set(exclude);
  for (let tries = 0; out.length < n && tries < n * 50; tries++) {
    const { input, output } = skill.make(random);
    if (seen.has(input)) continue;
    seen.add(input);
    out.push({ prompt: prompt(skill, input), completion: output });
  }
  return out;
}
