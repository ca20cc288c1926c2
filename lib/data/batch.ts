// The packed-batch contract lives with the engine (lib/engine/batch.ts); re-exported here for
// the data pipeline's existing imports.
export * from '../engine/batch.js';
