// `warmstart serve` as a library: an OpenAI-compatible server over a model, and its batcher.
export { serve, startServer } from './server.js';
export type { ServerOptions, WarmstartServer } from './server.js';
export { Batcher, QueueFullError } from './batcher.js';
export type { BatcherOptions, GenJob, JobResult } from './batcher.js';
export { ApiError } from './errors.js';
