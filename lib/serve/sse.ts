// Server-sent events, as OpenAI's streaming API frames them: `data: <JSON>` and a blank line per
// event, `data: [DONE]` last.
import type { ServerResponse } from 'node:http';

/** Sends the event-stream headers at once (the client sees the stream open before any token). */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
}

/** Writes one server-sent event, unless the response is closed (Node buffers what the socket cannot take yet). */
export function sendEvent(res: ServerResponse, data: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/** Ends the stream with `data: [DONE]`. */
export function endEventStream(res: ServerResponse): void {
  sendEvent(res, '[DONE]');
  res.end();
}
