// The shapes the core sends over IPC, generated from Rust (see bindings.ts).
export type {
  AppError,
  ErrorCode,
  Overview,
  PipelineSummary,
  Source,
  StatusSummary,
} from "./bindings";
