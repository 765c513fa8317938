import { invoke } from "@tauri-apps/api/core";
import type { AppError, Overview } from "./types";

function asAppError(e: unknown): AppError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const { code, message } = e as { code: unknown; message: unknown };
    return { code: String(code), message: String(message) };
  }
  return { code: "Internal", message: String(e) };
}

/** Account, pipelines and per-status totals, read through the core. */
export async function loadOverview(): Promise<Overview> {
  try {
    return await invoke<Overview>("overview");
  } catch (e) {
    throw asAppError(e);
  }
}
