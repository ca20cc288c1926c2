// Small HTTP helpers for the serve tests (fetch on 127.0.0.1 only).

export interface Answer {
  status: number;
  headers: Headers;
  json: any; // parsed body (undefined when not JSON)
  text: string;
}

/** POSTs a JSON body (or a raw string) and reads the answer whole. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text), text };
}

/** A streamed request: the `data:` payloads in order (JSON-parsed, except the final "[DONE]"). */
export async function stream(
  url: string,
  body: unknown,
): Promise<{ status: number; contentType: string | null; events: unknown[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const events = text
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((block) => {
      if (!block.startsWith('data: ')) throw new Error(`not an SSE data event: ${JSON.stringify(block)}`);
      const data = block.slice('data: '.length);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
  return { status: res.status, contentType: res.headers.get('content-type'), events };
}
