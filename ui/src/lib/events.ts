// Events pushed by the core. Outside Tauri (a plain browser) listening fails
// quietly: the UI then simply gets no pushes.
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AppError, SetupProgress, SyncView } from "./bindings";

export const EVENT = {
  storeChanged: "amosync://store-changed",
  sync: "amosync://sync",
  setup: "amosync://setup",
  connected: "amosync://connected",
  connectFailed: "amosync://connect-failed",
  show: "amosync://show",
} as const;

export type Handlers = {
  storeChanged?: (version: number) => void;
  sync?: (view: SyncView) => void;
  setup?: (progress: SetupProgress) => void;
  connected?: () => void;
  connectFailed?: (error: AppError) => void;
  show?: (view: string) => void;
};

/** Listens to every event with a handler; resolves to one function that stops them all. */
export async function subscribe(h: Handlers): Promise<UnlistenFn> {
  const pairs: [string, ((payload: never) => void) | undefined][] = [
    [EVENT.storeChanged, h.storeChanged],
    [EVENT.sync, h.sync],
    [EVENT.setup, h.setup],
    [EVENT.connected, h.connected],
    [EVENT.connectFailed, h.connectFailed],
    [EVENT.show, h.show],
  ];
  const stops = await Promise.all(
    pairs.map(async ([name, handler]) => {
      if (!handler) return null;
      try {
        return await listen<never>(name, (e) => handler(e.payload));
      } catch {
        return null;
      }
    }),
  );
  return () => {
    for (const stop of stops) {
      try {
        stop?.();
      } catch {
        // Already gone.
      }
    }
  };
}

/**
 * Calls `fn` at most once per burst: `wait` ms after the last call, and no
 * later than `maxWait` ms after the first call of the burst.
 */
export function debounce(fn: () => void, wait: number, maxWait = wait): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let first = 0;
  const run = () => {
    timer = null;
    first = 0;
    fn();
  };
  const d = () => {
    const now = Date.now();
    if (!first) first = now;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, Math.max(0, Math.min(wait, first + maxWait - now)));
  };
  d.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    first = 0;
  };
  return d;
}
