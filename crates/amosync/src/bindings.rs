//! TypeScript declarations of everything the UI receives over IPC, generated
//! from the Rust types with `ts-rs`. The checked-in copy is
//! `ui/src/lib/bindings.ts`; a test fails when it drifts from the Rust side.

use ts_rs::{Config, TS};

use amosync_store::{
    ChannelCount, Funnel, FunnelQuery, FunnelStatus, LeadsOrder, LeadsQuery, StatusKind, TimeRange,
};

use crate::desktop::views::*;
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
        // The store's query types the UI sends and its funnel.
        TimeRange::decl(&cfg),
        StatusKind::decl(&cfg),
        FunnelQuery::decl(&cfg),
        FunnelStatus::decl(&cfg),
        Funnel::decl(&cfg),
        LeadsOrder::decl(&cfg),
        LeadsQuery::decl(&cfg),
        ChannelCount::decl(&cfg),
        // The desktop views.
        Named::decl(&cfg),
        StatusRef::decl(&cfg),
        PipelineRef::decl(&cfg),
        AccountView::decl(&cfg),
        LeadRow::decl(&cfg),
        LeadsPage::decl(&cfg),
        FieldValue::decl(&cfg),
        ContactCard::decl(&cfg),
        NoteView::decl(&cfg),
        HistoryStep::decl(&cfg),
        TalkState::decl(&cfg),
        TalkRow::decl(&cfg),
        LeadCard::decl(&cfg),
        ChatsQuery::decl(&cfg),
        ChatsView::decl(&cfg),
        SessionMode::decl(&cfg),
        WebhookView::decl(&cfg),
        TunnelView::decl(&cfg),
        SyncAction::decl(&cfg),
        SyncIssueCode::decl(&cfg),
        SyncIssue::decl(&cfg),
        SyncView::decl(&cfg),
        SiteKind::decl(&cfg),
        SetupRequest::decl(&cfg),
        SetupStart::decl(&cfg),
        SetupProgress::decl(&cfg),
        Language::decl(&cfg),
        Theme::decl(&cfg),
        Preferences::decl(&cfg),
        TunnelSettings::decl(&cfg),
        TunnelInput::decl(&cfg),
        SettingsView::decl(&cfg),
        ExportKind::decl(&cfg),
        ExportFormat::decl(&cfg),
        ExportRequest::decl(&cfg),
        ExportResult::decl(&cfg),
        NoticeKind::decl(&cfg),
        Notice::decl(&cfg),
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
