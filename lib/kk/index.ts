// Knights & Knaves: the public API (statement model, solver, generator, text, loaders, traces,
// prompts, rewards, teachers).
// Generic names get a K&K-specific alias, since lib/index.ts re-exports all of this.
export {
  type Statement,
  type StatementOp,
  type Truth3,
  evaluate as evaluateStatement,
  evaluate3 as evaluateStatement3,
  mentioned as mentionedPeople,
  depth as statementDepth,
  width as statementWidth,
  isLeaf as isLeafStatement,
  children as statementChildren,
  parseStatements,
  formatStatements,
  statementKey,
  validateStatement,
} from './statement.js';
export {
  type SearchEvent,
  solve,
  countSolutions,
  hasUniqueSolution,
  searchEvents,
  satisfies,
  solveBruteForce,
} from './solver.js';
export {
  type RoleWords,
  roleWords,
  SAYING_TEMPLATES,
  renderStatement,
  renderQuiz,
  quizOpening,
  quizClosing,
  listNames,
  solutionText,
  solutionTextFormat,
  matchQuizTemplates,
} from './text.js';
export { KK_NAMES } from './names.js';
export { type KKPuzzle, type KKRecord, toRecord, fromRecord } from './puzzle.js';
export {
  type GenerateOptions as KKGenerateOptions,
  generatePuzzles,
  parsePeople,
  sampleStatements,
} from './generate.js';
export { loadPuzzles, writePuzzles, writeJsonl, readParquetRows, readJsonlRows } from './io.js';
export { type TraceVerbosity, type TraceOptions as SymbolicTraceOptions, symbolicTrace } from './trace.js';
export {
  type ChatMessage as KKChatMessage,
  KK_ASSISTANT_PREFIX,
  KK_USER_TEMPLATE,
  KK_RAW_TEMPLATE,
  KK_CHAT_SYSTEM,
  KK_CHAT_USER,
  kkUserMessage,
  buildPrompt,
  buildChatMessages,
  formatAnswer,
} from './prompt.js';
export {
  type KKRewardVariant,
  type KKRewardDetails,
  type ParsedAnswer,
  kkReward,
  kkRewardDetails,
  parseAnswer,
} from './reward.js';
export {
  type Teacher,
  type TeacherOption,
  type TeacherSpec,
  type TraceRecord,
  registerTeacher,
  teacherSpecs,
  teacherSpec,
  symbolicTeacher,
  writeTraces,
} from './teacher.js';
export {
  type KKProblem,
  type KKCheckReport,
  type KKCompletionReport,
  checkPuzzles,
  scoreCompletions,
} from './check.js';
