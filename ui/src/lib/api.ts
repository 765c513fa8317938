// Every call into the Tauri core, typed against the generated bindings.
// Errors always reach callers as `AppError` ({code, message}).
import { invoke, type InvokeArgs } from "@tauri-apps/api/core";
import type {
  AccountView,
  AppError,
  ChatsQuery,
  ChatsView,
  ErrorCode,
  ExportRequest,
  ExportResult,
  Funnel,
  FunnelQuery,
  LeadCard,
  LeadsPage,
  LeadsQuery,
  Preferences,
  SettingsView,
  SetupProgress,
  SetupRequest,
  SetupStart,
  SyncAction,
  SyncView,
  TunnelInput,
  TunnelSettings,
} from "./bindings";

/** Errors from the core arrive as `{code, message}`; anything else (an IPC failure) is reported as `Api`. */
export function asAppError(e: unknown): AppError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const { code, message } = e as { code: ErrorCode; message: unknown };
    return { code, message: String(message) };
  }
  return { code: "Api", message: e instanceof Error ? e.message : String(e) };
}

async function call<T>(cmd: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asAppError(e);
  }
}

export const account = () => call<AccountView>("account");
export const funnel = (query: FunnelQuery) => call<Funnel>("funnel", { query });
export const leads = (query: LeadsQuery) => call<LeadsPage>("leads", { query });
export const lead = (id: number) => call<LeadCard>("lead", { id });
export const chats = (query: ChatsQuery) => call<ChatsView>("chats", { query });
export const syncStatus = () => call<SyncView>("sync_status");
export const syncAction = (action: SyncAction) => call<null>("sync_action", { action });
export const startDemo = () => call<null>("start_demo");
export const setupBegin = (request: SetupRequest) => call<SetupStart>("setup_begin", { request });
/** A pasted `amosync://…` address or a bare code. */
export const setupFinish = (input: string) => call<null>("setup_finish", { input });
export const setupProgress = () => call<SetupProgress>("setup_progress");
export const settings = () => call<SettingsView>("settings");
export const savePreferences = (preferences: Preferences) => call<Preferences>("save_preferences", { preferences });
export const setTunnel = (tunnel: TunnelInput) => call<TunnelSettings>("set_tunnel", { tunnel });
/** Written to the Downloads folder. */
export const exportData = (request: ExportRequest) => call<ExportResult>("export", { request });
export const disconnect = () => call<null>("disconnect");
/** Opens an http(s) address in the browser. */
export const openUrl = (url: string) => call<null>("open_url", { url });
