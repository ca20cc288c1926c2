// `warmstart serve --model DIR`: an OpenAI-compatible HTTP server over a model folder
// (lib/serve/server.ts). Loopback only unless --host says otherwise; SIGINT/SIGTERM shut it down
// gracefully (requests in flight finish), a second signal exits at once.
import type { Command } from 'commander';

import type { Device } from '../engine/model.js';
import { serve } from '../serve/server.js';
import { checkDeviceFlag, deviceOption } from './device.js';
import { deprecated, deprecatedOption, parseInteger, stopOnSignal } from './flags.js';

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
    .option('--max-new-tokens <n>', 'most new tokens a request may ask for (its max_tokens)', '8192')
    .addOption(deprecatedOption('--max-tokens <n>', '--max-new-tokens'))
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
        port: parseInteger('--port', 0)(o.port),
        modelName: o.servedModelName,
        apiKey,
        maxTokens: o.maxTokens
          ? parseInteger('--max-tokens', 1)(deprecated(o.maxTokens, '--max-tokens', '--max-new-tokens', o.maxNewTokens))
          : parseInteger('--max-new-tokens', 1)(o.maxNewTokens),
        maxQueue: parseInteger('--max-queue', 1)(o.maxQueue),
        maxBatchSequences: parseInteger('--max-batch', 1)(o.maxBatch),
        maxBatchKvMiB: parseInteger('--max-batch-kv-mib', 1)(o.maxBatchKvMib),
        maxBodyBytes: parseInteger('--max-body-kib', 1)(o.maxBodyKib) * 1024,
      });
      console.log(
        `serving ${server.modelName} on ${server.url}/v1 (OpenAI-compatible${apiKey ? `; API key from $${o.apiKeyEnv}` : ''}); Ctrl-C stops`,
      );
      if (!LOOPBACK.has(o.host) && !apiKey)
        console.error(`warning: listening on ${o.host} without an API key (set $${o.apiKeyEnv})`);
      const graceMs = parseInteger('--shutdown-grace', 0)(o.shutdownGrace) * 1000;
      await new Promise<void>((done) => {
        stopOnSignal((signal) => {
          console.error(`${signal}: finishing requests in flight (again to exit now)`);
          server.close({ graceMs }).then(done, (e: unknown) => {
            console.error(`warmstart serve: ${e instanceof Error ? e.message : String(e)}`);
            done();
          });
        });
      });
      console.error('stopped');
    });
}
