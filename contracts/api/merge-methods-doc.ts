/** README.md's table of merge methods, written from the declarations (`npm run openapi` rewrites it; a test checks it). */
import { declarationOf, MERGE_METHODS } from './merge-methods.ts';

export const METHOD_TABLE_START = '<!-- merge methods: generated from contracts/api/merge-methods.ts by `npm run openapi` -->';
export const METHOD_TABLE_END = '<!-- end of merge methods -->';

export function mergeMethodTable(): string {
  const rows = MERGE_METHODS.map((name) => {
    const d = declarationOf(name);
    const params = Object.keys(d.params).map((p) => `\`${p}\``);
    const kept = d.reversible
      ? `every task (${d.servesTasksAs === 'shared_basis' ? 'served through the shared basis' : 'rebuilt'})`
      : 'none';
    return `| \`${name}\` | ${d.summary} | ${params.join(', ') || '—'} | ${kept} | ${d.reference} |`;
  });
  return [
    METHOD_TABLE_START,
    '| method | what it computes | parameters | tasks kept (revertible) | after |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    METHOD_TABLE_END,
  ].join('\n');
}

/** `readme` with its method table replaced by the one the declarations give. */
export function withMethodTable(readme: string): string {
  const start = readme.indexOf(METHOD_TABLE_START);
  const end = readme.indexOf(METHOD_TABLE_END);
  if (start < 0 || end < start) throw new Error('README.md has no merge method table markers');
  return readme.slice(0, start) + mergeMethodTable() + readme.slice(end + METHOD_TABLE_END.length);
}
