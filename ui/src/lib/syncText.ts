// What the sync pill says, from the pushed SyncView. The most pressing state wins.
import type { SyncView } from "./bindings";
import type { Key, Params } from "./i18n";

export type Tone = "ok" | "warn" | "error" | "busy" | "idle";

export interface PillText {
  tone: Tone;
  key: Key;
  params?: Params;
}

export function pillText(v: SyncView | null, moment: (unixSeconds: number) => string): PillText {
  if (!v) return { tone: "idle", key: "pill.loading" };
  if (v.mode === "starting") return { tone: "busy", key: "pill.starting" };
  if (v.mode === "stopped") return { tone: "idle", key: "pill.stopped" };
  if (v.issues.some((i) => i.code === "reconnect_needed")) return { tone: "error", key: "pill.reconnect" };
  if (!v.online) {
    return v.offline_since != null
      ? { tone: "error", key: "pill.offlineSince", params: { t: moment(v.offline_since) } }
      : { tone: "error", key: "pill.offline" };
  }
  switch (v.webhook) {
    case "disabled":
      return { tone: "error", key: "pill.webhookDisabled" };
    case "not_admin":
      return { tone: "warn", key: "pill.notAdmin" };
    case "limit_reached":
      return { tone: "warn", key: "pill.webhookLimit" };
    case "error":
      return { tone: "warn", key: "pill.webhookError" };
    case "no_public_url":
      // The demo's emulator calls the receiver directly: no tunnel needed.
      if (v.mode !== "demo") return { tone: "warn", key: "pill.noPublicUrl" };
      break;
  }
  if (v.catching_up || !v.first_sync_done) return { tone: "busy", key: "pill.catchingUp" };
  if (v.mode === "demo") return { tone: "ok", key: "pill.demo" };
  if (v.webhook === "pending") return { tone: "busy", key: "pill.webhookPending" };
  return { tone: "ok", key: "pill.synced" };
}
