// The app's IPC commands, shared by `build.rs` (one `allow-<name>` permission
// each) and `commands.rs`. Keep in step with `generate_handler!` in `lib.rs`
// and the grants in `capabilities/default.json`.
#[allow(dead_code)]
const COMMANDS: &[&str] = &[
    "account",
    "funnel",
    "leads",
    "lead",
    "chats",
    "sync_status",
    "sync_action",
    "start_demo",
    "setup_begin",
    "setup_finish",
    "setup_progress",
    "settings",
    "save_preferences",
    "set_tunnel",
    "export",
    "disconnect",
    "open_url",
];
