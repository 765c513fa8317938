// Generated from the Rust types in crates/amosync by ts-rs. Do not edit by hand:
// UPDATE_BINDINGS=1 cargo test -p amosync --test bindings

export type ErrorCode = "DemoUnavailable" | "AuthRevoked" | "OAuthDenied" | "AccountBlocked" | "Forbidden" | "PaymentRequired" | "RateLimited" | "Unreachable" | "Api" | "NotConnected" | "AccountMismatch" | "NotFound" | "StoreUnavailable" | "Local" | "InvalidInput";

export type AppError = { code: ErrorCode, message: string, };

export type Source = "demo" | "account";

export type StatusSummary = { id: number, name: string, 
/**
 * `#rrggbb`.
 */
color: string, sort: number, 
/**
 * Live (not deleted) leads in this status.
 */
leads: number, 
/**
 * Sum of their prices, in the account's currency.
 */
price_sum: number, };

export type PipelineSummary = { id: number, name: string, is_main: boolean, statuses: Array<StatusSummary>, };

export type Overview = { source: Source, account_name: string, subdomain: string, currency: string, pipelines: Array<PipelineSummary>, };
