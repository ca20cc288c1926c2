// Preloaded (node --import) into the CLI processes of interrupt.test.ts. It writes a line to
// stderr when native Model work starts (`test: native generate`, `test: native accumulate`), so
// the test signals the process while that work runs, and it drops generate()'s stop tokens, so a
// generation always runs to its length limit (seconds on the tiny model) instead of ending early
// on a random model's end-of-text token.
import { writeSync } from 'node:fs';

import type { NativeGenerateOptions, NativeObjective } from '../../lib/engine/addon-types.js';
import { cpu } from '../../lib/engine/addon.js';

const addon = cpu();
const Native = addon.Model;
class Marked extends Native {
  generate(tokens: Int32Array, positions: Int32Array, cuSeqlens: Int32Array, options: NativeGenerateOptions) {
    writeSync(2, 'test: native generate\n');
    return super.generate(tokens, positions, cuSeqlens, { ...options, stopTokens: undefined });
  }
  accumulate(tokens: Int32Array, positions: Int32Array, cuSeqlens: Int32Array, objective: NativeObjective) {
    writeSync(2, 'test: native accumulate\n');
    return super.accumulate(tokens, positions, cuSeqlens, objective);
  }
}
addon.Model = Marked;
