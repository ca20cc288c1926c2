// Teachers write reasoning traces for puzzles; `warmstart kk traces --teacher NAME` picks one from
// this registry. The symbolic teacher (the solver's search told in English) is built in; others
// (e.g. a model behind an OpenAI-compatible server) register a TeacherSpec: its name, the extra
// command-line options it takes, and a factory. A new teacher lives in its own module that calls
// registerTeacher() when imported; lib/cli/kk.ts imports that module, and the teacher's options
// then appear on `kk traces`. Its complete() gets the puzzle and the raw prompt (a chat teacher
// builds its messages with buildChatMessages(puzzle)) and returns the text after `<think>`.

import type { KKPuzzle } from './puzzle.js';
import { toRecord, type KKRecord } from './puzzle.js';
import { buildChatMessages, buildPrompt, KK_ASSISTANT_PREFIX, type ChatMessage } from './prompt.js';
import { symbolicTrace, type TraceVerbosity } from './trace.js';

/** Writes one completion for a puzzle, given the raw prompt it continues (which ends in `<think>`). */
export interface Teacher {
  readonly name: string;
  /** The text after the prompt's `<think>`: reasoning, `</think>`, then the answer block. */
  complete(puzzle: KKPuzzle, prompt: string): Promise<string>;
  /** How many `complete` calls may run at once (default 1). */
  readonly concurrency?: number;
  /**
   * Optional: the teacher writes the output file itself (e.g. several samples per puzzle,
   * appended as they arrive, resuming a partial file); `kk traces` then calls this instead of
   * writeTraces + writeJsonl.
   */
  writeFile?(
    puzzles: readonly KKPuzzle[],
    out: string,
    opts: { style?: 'raw' | 'chat'; onProgress?: (done: number, total: number) => void },
  ): Promise<{ total: number; skipped: number; written: number; rejected?: number }>;
}

/** A command-line option a teacher takes, in commander's syntax. */
export interface TeacherOption {
  flags: string;
  description: string;
  default?: string;
  /** An old spelling kept working: parsed, not shown in --help. */
  hidden?: boolean;
}

/** How the CLI finds and builds a teacher. */
export interface TeacherSpec {
  name: string;
  description: string;
  options?: readonly TeacherOption[];
  /** Builds the teacher from the parsed options (camelCase keys, as commander gives them). */
  create(options: Record<string, unknown>): Teacher | Promise<Teacher>;
}

const specs = new Map<string, TeacherSpec>();

/** Adds a teacher to the registry (a later registration of the same name replaces it). */
export function registerTeacher(spec: TeacherSpec): void {
  specs.set(spec.name, spec);
}

/** The registered teachers, by name. */
export function teacherSpecs(): TeacherSpec[] {
  return [...specs.values()];
}

/** A registered teacher's spec; throws naming the known ones. */
export function teacherSpec(name: string): TeacherSpec {
  const spec = specs.get(name);
  if (!spec) throw new RangeError(`teacher: unknown teacher "${name}" (known: ${[...specs.keys()].join(', ')})`);
  return spec;
}

/** The symbolic teacher: {@link symbolicTrace} at a verbosity, wording varied by `seed`. */
export function symbolicTeacher(opts: { verbosity?: TraceVerbosity; seed?: number } = {}): Teacher {
  return {
    name: 'symbolic',
    complete: async (puzzle) => symbolicTrace(puzzle, opts),
  };
}

registerTeacher({
  name: 'symbolic',
  description: "the solver's search told step by step (correct by construction)",
  options: [
    { flags: '--verbosity <level>', description: 'terse, normal or long', default: 'normal' },
    { flags: '--trace-seed <n>', description: 'varies the wording', default: '0' },
  ],
  create(o) {
    const verbosity = String(o.verbosity ?? 'normal');
    if (!['terse', 'normal', 'long'].includes(verbosity))
      throw new RangeError(`--verbosity: expected terse, normal or long, got "${verbosity}"`);
    const seed = Number(o.traceSeed ?? 0);
    if (!Number.isInteger(seed))
      throw new RangeError(`--trace-seed: expected an integer, got "${String(o.traceSeed)}"`);
    return symbolicTeacher({ verbosity: verbosity as TraceVerbosity, seed });
  },
});

/** One SFT example: the puzzle's record plus a prompt and the teacher's completion. */
export type TraceRecord = KKRecord & {
  teacher: string;
} & ({ prompt: string; completion: string } | { prompt: ChatMessage[]; completion: ChatMessage[] });

/**
 * Runs a teacher over puzzles, `teacher.concurrency` at a time, keeping their order. `style`
 * 'raw' (default) stores the raw prompt and completion as strings; 'chat' stores chat messages
 * (the assistant message starts with `<think>`), TRL's conversational prompt-completion form.
 */
export async function writeTraces(
  teacher: Teacher,
  puzzles: readonly KKPuzzle[],
  opts: { style?: 'raw' | 'chat'; onProgress?: (done: number, total: number) => void } = {},
): Promise<TraceRecord[]> {
  const style = opts.style ?? 'raw';
  if (style !== 'raw' && style !== 'chat')
    throw new RangeError(`style: expected 'raw' or 'chat', got ${JSON.stringify(style)}`);
  const out = new Array<TraceRecord>(puzzles.length);
  let next = 0,
    done = 0;
  const worker = async () => {
    while (next < puzzles.length) {
      const i = next++;
      const p = puzzles[i];
      const prompt = buildPrompt(p);
      const completion = await teacher.complete(p, prompt);
      out[i] =
        style === 'raw'
          ? { ...toRecord(p), teacher: teacher.name, prompt, completion }
          : {
              ...toRecord(p),
              teacher: teacher.name,
              prompt: buildChatMessages(p),
              completion: [{ role: 'assistant', content: KK_ASSISTANT_PREFIX + completion }],
            };
      opts.onProgress?.(++done, puzzles.length);
    }
  };
  const n = Math.max(1, Math.min(teacher.concurrency ?? 1, puzzles.length));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}
