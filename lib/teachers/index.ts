// Teachers beyond the built-in symbolic one (each registers itself with `kk traces`).
export { OpenAITeacher, openaiTeacher, OPENAI_TEACHER_PAPER, rejectedFile } from './openai.js';
export type { OpenAITeacherOptions, TeacherSample, SampleRunResult } from './openai.js';
export { OpenAIClient, HttpError, baseUrl, retryAfterMs } from './http-client.js';
export type { ClientOptions } from './http-client.js';
export { openTraceLog } from './trace-log.js';
export type { TraceLog } from './trace-log.js';
