/**
 * A failed zod check as one message for the person who sent the input: it names the field, says what it
 * should be, and counts the problems after the first. Request bodies at the edge and at a backend, and the
 * config files of models and adapters, are all reported this way.
 */
import type { z } from 'zod';

export interface IssueReport {
  /** `unknown_field` for a field the schema does not have, a refinement's own code (see `refusal`), else `invalid_field`. */
  code: string;
  message: string;
  /** The dotted path of the field to change; null when the input as a whole is wrong. */
  param: string | null;
}

/** `where` names the input as a reader would: "the request body", "config.json". */
export function describeIssues(error: z.ZodError, where: string): IssueReport {
  const issue = error.issues[0];
  const path = issue.path.map(String).join('.');
  const own = issue.code === 'custom' ? (issue.params as Refusal | undefined)?.code : undefined;
  if (own !== undefined) return { code: own, message: issue.message, param: path || null };
  const field = path ? `"${path}"` : where;
  let message: string;
  let param: string | null = path || null;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    const at = path ? ` inside "${path}"` : '';
    const many = issue.keys.length > 1;
    message = `Unknown field${many ? 's' : ''} ${keys}${at} in ${where}; remove ${many ? 'them' : 'it'} (check the spelling against the API reference).`;
    param = path ? `${path}.${issue.keys[0]}` : issue.keys[0];
  } else if (issue.code === 'invalid_type' && isMissing(issue)) {
    message = `Missing required field ${field} in ${where}; expected ${issue.expected}.`;
  } else {
    message = `Invalid ${field} in ${where}: ${issue.message}.`;
  }
  const more =
    error.issues.length > 1 ? ` (${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''} after this one.)` : '';
  return { code: issue.code === 'unrecognized_keys' ? 'unknown_field' : 'invalid_field', message: message + more, param };
}

/** The params of a refinement that answers with its own code and whole message (e.g. `unsupported_parameter`). */
export interface Refusal {
  code: string;
}

/** zod reports the input only when asked to; its own message then says what it received. */
function isMissing(issue: z.core.$ZodIssueInvalidType): boolean {
  return 'input' in issue && issue.input !== undefined ? false : /received undefined$/.test(issue.message);
}
