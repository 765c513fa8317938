import { invoke } from "@tauri-apps/api/core";
import type { AppError, ErrorCode, Overview } from "./types";

/** Errors from the core arrive as `{code, message}`; anything else (an IPC failure) is reported as `Api`. */
function asAppError(e: unknown): AppError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const { code, message } = e as { code: ErrorCode; message: unknown };
    return { code, message: String(message) };
  }
  return { code: "Api", message: String(e) };
}

/** Account, pipelines and per-status totals, read through the core. */
export async function loadOverview(): Promise<Overview> {
  try {
    return await invoke<Overview>("overview");
  } catch (e) {
    throw asAppError(e);
  }
}
