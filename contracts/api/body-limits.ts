/**
 * How large a JSON request body may be: the edge refuses more from clients before parsing, and a backend refuses
 * a forwarded body beyond what the edge can send before buffering it. Uploads (datasets, adapter files) have their own limits.
 */
/**
 * The most bytes of JSON a client's request to the edge may carry (twice MAX_PROMPT_BYTES in contracts/api/openai.ts).
 * It, not the prompt limit, bounds a completion request: beside its prompt a valid request may carry up to this much
 * JSON (stop strings, many short messages, escapes).
 */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * What the edge adds to a client's request when it forwards it: the `rankgate` routing field (ids, names and
 * storage prefixes of at most nine objects: a base and MAX_MIXED_ADAPTERS adapters of a mix, a few KiB), and what re-serializing the parsed request can add (`1e15` written out).
 */
const FORWARD_ENVELOPE_BYTES = 64 * 1024;

/** The largest body a backend accepts from the edge: anything larger was not sent by the edge, and is refused (413) unread. */
export const MAX_FORWARDED_BODY_BYTES = MAX_JSON_BODY_BYTES + FORWARD_ENVELOPE_BYTES;
