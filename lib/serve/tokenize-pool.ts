// Tokenizing off the event loop: one worker thread (tokenize-worker.ts) holding a copy of the
// tokenizer encodes long prompts in the order they arrive, so a client that sends a prompt of
// megabytes delays only the long prompts queued behind it, never /health, the streams already
// running or ordinary prompts (short ones are encoded at once on the calling thread). Each text is encoded only up to a limit (the context length), which bounds the work a
// request can cause whatever its size.
import { Worker } from 'node:worker_threads';

import type { EncodedPrefix, Tokenizer } from '../data/tokenizer.js';

interface Waiting {
  resolve: (r: EncodedPrefix) => void;
  reject: (e: Error) => void;
}

// Built, the worker is the .js file beside this one. Run from TypeScript (tests, tsx), it is the
// .ts file, started through tsx's loader (Node 20 workers do not run the parent's --import).
function newWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./tokenize-worker.js', import.meta.url), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const file = new URL('./tokenize-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/** Texts up to this many characters are encoded on the calling thread (a few milliseconds). */
export const INLINE_CHARS = 4096;

export class TokenizeWorker {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Starts the thread now rather than at the first prompt (building the tokenizer takes a moment). */
  start(): void {
    this.thread();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = newWorker({ files: this.tokenizer.files, source: this.tokenizer.source });
    w.unref(); // an idle tokenizer never keeps the process alive
    w.on('message', (m: { id: number; ids?: Int32Array; more?: boolean; error?: string }) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve({ ids: m.ids!, more: m.more! });
    });
    const fail = (e: Error) => {
      // a thread that died fails what it held; the next prompt starts a new one
      if (this.worker === w) this.worker = null;
      for (const p of this.waiting.values()) p.reject(e);
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the tokenize worker exited (code ${code})`)));
    this.worker = w;
    return w;
  }

  /**
   * The first `limit` tokens of `text` (Tokenizer.encodePrefix): encoded on the worker thread, or
   * at once when the text is short (INLINE_CHARS, a few ms), so that ordinary prompts never queue
   * behind a long one on the worker.
   */
  encodePrefix(text: string, limit: number): Promise<EncodedPrefix> {
    if (this.closed) return Promise.reject(new Error('the tokenize worker is closed'));
    if (text.length <= INLINE_CHARS) {
      try {
        return Promise.resolve(this.tokenizer.encodePrefix(text, limit));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    const w = this.thread();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, text, limit });
    });
  }

  /** Stops the thread; prompts still waiting are failed. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
