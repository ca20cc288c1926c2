// The warmstart library API. Every CLI command has a function here.
export { engineInfo } from './engine/addon.js';
export * from './kk/index.js';
