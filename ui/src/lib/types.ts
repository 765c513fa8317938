// The shapes the core sends over IPC are generated from Rust: import them from
// ./bindings (never edit that file). This module only keeps older imports working.
export type * from "./bindings";
