//! TypeScript declarations of everything the UI receives over IPC, generated
//! from the Rust types with `ts-rs`. The checked-in copy is
//! `ui/src/lib/bindings.ts`; a test fails when it drifts from the Rust side.

use ts_rs::{Config, TS};

use crate::{AppError, ErrorCode, Overview, PipelineSummary, Source, StatusSummary};

/// Where the UI keeps the generated file, relative to the repository root.
pub const BINDINGS_PATH: &str = "ui/src/lib/bindings.ts";

/// The full text of `ui/src/lib/bindings.ts`.
pub fn typescript_bindings() -> String {
    // Ids and amounts fit in a JS number; the UI never sees a BigInt.
    let cfg = Config::new().with_large_int("number");
    let decls = [
        ErrorCode::decl(&cfg),
        AppError::decl(&cfg),
        Source::decl(&cfg),
        StatusSummary::decl(&cfg),
        PipelineSummary::decl(&cfg),
        Overview::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types in crates/amosync by ts-rs. Do not edit by hand:\n\
         // UPDATE_BINDINGS=1 cargo test -p amosync --test bindings\n",
    );
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}
