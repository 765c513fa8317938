// Start-up: the pushed events wired to the shared state, then settings,
// account and sync state in parallel, then the first view.
import * as api from "../lib/api";
import { isView, type AppState } from "../lib/app.svelte";
import { debounce, subscribe } from "../lib/events";

/**
 * The first run (nothing connected, wizard never finished) opens the set-up
 * wizard. The first view waits for settings and account only: the sync state
 * fills the pill whenever it comes.
 */
export async function boot(app: AppState): Promise<void> {
  app.accountLoading = true;
  void app.fetchSync().catch(() => {});
  const [settings] = await Promise.allSettled([app.fetchSettings(), app.loadAccount()]);
  const firstRun =
    settings.status === "fulfilled"
      ? !settings.value.preferences.wizard_done && !settings.value.connected
      : app.accountError?.code === "NotConnected";
  if (firstRun) app.view = "wizard";
  app.booted = true;
}

/**
 * Re-reads settings (after connecting or disconnecting) and applies their
 * preferences: the core may have changed them (disconnecting clears
 * `wizard_done`), and the next save starts from `app.prefs`.
 */
export async function reloadSettings(app: AppState): Promise<void> {
  try {
    await app.fetchSettings();
  } catch {
    // The settings view shows its own error when opened.
  }
}

export interface Listening {
  /** Resolves once every subscription is in place (fetch after it: no push is lost). */
  ready: Promise<void>;
  stop: () => void;
}

/** Subscribes the shared state to the core's events. */
export function listenAll(app: AppState): Listening {
  // A moved lead must show within 2 s: re-fetch at most 150 ms after a burst starts.
  const changed = debounce(
    () => {
      app.storeVersion++;
      void app.loadAccount(true);
    },
    100,
    150,
  );
  let stop: (() => void) | null = null;
  let disposed = false;
  const ready = subscribe({
    storeChanged: () => changed(),
    sync: (view) => app.pushSync(view),
    setup: (progress) => {
      app.setup = progress;
      if (progress.error) app.connectError = progress.error;
    },
    connected: () => {
      app.connectError = null;
      void app.loadAccount();
      void reloadSettings(app);
    },
    connectFailed: (error) => {
      app.connectError = api.asAppError(error);
    },
    show: (view) => {
      if (isView(view)) app.go(view);
    },
  }).then((unsubscribe) => {
    if (disposed) unsubscribe();
    else stop = unsubscribe;
  });
  return {
    ready,
    stop: () => {
      disposed = true;
      changed.cancel();
      stop?.();
    },
  };
}

/** The window's start: subscriptions first, then the first reads (a push between the two is never lost). */
export function start(app: AppState): () => void {
  const listening = listenAll(app);
  let stopped = false;
  void listening.ready.then(() => {
    if (!stopped) void boot(app);
  });
  return () => {
    stopped = true;
    listening.stop();
  };
}
