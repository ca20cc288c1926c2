// The tokenize worker's thread: it builds its own copy of the server's tokenizer and answers
// {id, text, limit} with the first `limit` tokens of `text` (Tokenizer.encodePrefix), so encoding
// a long prompt never holds up the server's event loop. tokenize-pool.ts starts it.
import { parentPort, workerData } from 'node:worker_threads';

import { Tokenizer, type TokenizerFiles } from '../data/tokenizer.js';

const { files, source } = workerData as { files: TokenizerFiles; source: string };
const tokenizer = new Tokenizer(files, source);

parentPort!.on('message', (m: { id: number; text: string; limit: number }) => {
  try {
    const { ids, more } = tokenizer.encodePrefix(m.text, m.limit);
    parentPort!.postMessage({ id: m.id, ids, more }, [ids.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
