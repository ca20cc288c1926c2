// A trace-client process for the kill test (traces.test.ts): samples traces from a server into a
// file, as `warmstart kk traces --teacher openai` does, without loading the whole CLI.
// Usage: node --import tsx test/serve/trace-client.ts ENDPOINT MODEL PUZZLES OUT SAMPLES CONCURRENCY MAX_TOKENS
import { loadPuzzles } from '../../lib/kk/index.js';
import { OpenAITeacher } from '../../lib/teachers/openai.js';

const [endpoint, model, input, out, samples, concurrency, maxTokens] = process.argv.slice(2);
const teacher = new OpenAITeacher({
  endpoint,
  model,
  samples: Number(samples),
  concurrency: Number(concurrency),
  maxTokens: Number(maxTokens),
  baseDelayMs: 20,
});
const r = await teacher.writeFile(await loadPuzzles(input), out);
console.log(JSON.stringify(r));
