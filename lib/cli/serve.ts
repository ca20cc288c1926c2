// `warmstart serve --model DIR`: an OpenAI-compatible HTTP server over a model folder
// (lib/serve/server.ts). Loopback only unless --host says otherwise; SIGINT/SIGTERM shut it down
// gracefully (requests in flight finish), a second signal exits at once.
import type { Command } from 'commander';

import type { Device } from '../engine/model.js';
import { serve } from '../serve/server.js';
import { checkDeviceFlag, deviceOption } from './device.js';

function int(flag: string, v: string, min: number): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min)
    throw new RangeError(`${flag}: expected an integer >= ${min}, got "${v}"`);
  return Number(v);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'serve a model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions, /v1/models, /health)',
    )
    .requiredOption('--model <dir>', 'model folder (config.json, weights, tokenizer.json)')
    .addOption(deviceOption())
    .option('--host <addr>', 'interface to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', '8000')
    .option('--served-model-name <name>', "the model's name in the API (default: the folder's name)")
    .option(
      '--api-key-env <var>',
      'environment variable holding the API key; when it is set, /v1/* needs "Authorization: Bearer KEY"',
      'WARMSTART_API_KEY',
    )
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for', '8192')
    .option('--max-queue <n>', 'requests that may wait for a batch (more get 429)', '256')
    .option('--max-batch <n>', 'most sequences in one engine call', '32')
    .option('--max-batch-kv-mib <n>', 'KV-cache budget of one engine call, MiB', '2048')
    .option('--max-body-kib <n>', 'largest request body, KiB', '4096')
    .option('--shutdown-grace <s>', 'seconds requests in flight get to finish on shutdown', '30')
    .action(async (o: Record<string, string>) => {
      const device = checkDeviceFlag(o.device as Device);
      const apiKey = process.env[o.apiKeyEnv] || undefined;
      const server = await serve(o.model, {
        device,
        host: o.host,
        port: int('--port', o.port, 0),
        modelName: o.servedModelName,
        apiKey,
        maxTokens: int('--max-tokens', o.maxTokens, 1),
        maxQueue: int('--max-queue', o.maxQueue, 1),
        maxBatchSequences: int('--max-batch', o.maxBatch, 1),
        maxBatchKvMiB: int('--max-batch-kv-mib', o.maxBatchKvMib, 1),
        maxBodyBytes: int('--max-body-kib', o.maxBodyKib, 1) * 1024,
      });
      console.log(
        `serving ${server.modelName} on ${server.url}/v1 (OpenAI-compatible${apiKey ? `; API key from $${o.apiKeyEnv}` : ''}); Ctrl-C stops`,
      );
      if (!LOOPBACK.has(o.host) && !apiKey)
        console.error(`warning: listening on ${o.host} without an API key (set $${o.apiKeyEnv})`);
      const graceMs = int('--shutdown-grace', o.shutdownGrace, 0) * 1000;
      await new Promise<void>((done) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) process.exit(130);
          stopping = true;
          console.error(`${signal}: finishing requests in flight (again to exit now)`);
          server.close({ graceMs }).then(done, (e: unknown) => {
            console.error(`warmstart serve: ${e instanceof Error ? e.message : String(e)}`);
            done();
          });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      console.error('stopped');
    });
}
