/**
 * A backend's completion stream, passed through to the client as it arrives, with its end made certain: a stream
 * ends with `data: [DONE]` or an error chunk, and one that stops without either (the backend died, or the connection
 * broke) gets an error chunk from the edge, as OpenAI's streams end on a failure. Without it the client would see a
 * truncated completion as a normal end.
 */
import { errorBody } from '../../contracts/api/error-body.ts';

/** Whether one SSE event (its text, without the blank line after it) ends a stream: `[DONE]`, or an error. */
function endsStream(event: string): boolean {
  return event.startsWith('data: [DONE]') || event.startsWith('data: {"error"') || event.startsWith('event: error');
}

export function withCertainEnd(upstream: ReadableStream<Uint8Array>, backendId: string): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  // The text since the last complete event, and whether the last complete event ended the stream.
  let pending = '';
  let ended = false;
  const failure = () => {
    const body = errorBody(
      502,
      'backend_failed',
      `Backend ${backendId} stopped in the middle of this completion; the text so far is incomplete. Retry the request.`,
    );
    // A blank line first closes an event the backend left half-written, so the client does not join the two.
    return encoder.encode(`${pending ? '\n\n' : ''}data: ${JSON.stringify(body)}\n\n`);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        console.warn(`inference: the stream from backend ${backendId} broke:`, err instanceof Error ? err.message : String(err));
        chunk = { done: true, value: undefined };
      }
      if (!chunk.done) {
        controller.enqueue(chunk.value);
        const events = (pending + decoder.decode(chunk.value, { stream: true })).split('\n\n');
        pending = events.pop() ?? '';
        for (const event of events) if (event) ended = endsStream(event);
        return;
      }
      if (!ended) controller.enqueue(failure());
      controller.close();
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
