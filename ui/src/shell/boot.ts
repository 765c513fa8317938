// Start-up: settings, account and sync state in parallel, then the first view;
// and the pushed events wired to the shared state.
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
  void api
    .syncStatus()
    .then((view) => {
      if (!app.sync) app.sync = view;
    })
    .catch(() => {});
  const [settings] = await Promise.allSettled([api.settings(), app.loadAccount()]);
  if (settings.status === "fulfilled") {
    app.settings = settings.value;
    app.applyPreferences(settings.value.preferences);
  }
  const firstRun =
    settings.status === "fulfilled"
      ? !settings.value.preferences.wizard_done && !settings.value.connected
      : app.accountError?.code === "NotConnected";
  if (firstRun) app.view = "wizard";
  app.booted = true;
}

/** Re-reads settings (after connecting or disconnecting). */
export async function reloadSettings(app: AppState): Promise<void> {
  try {
    app.settings = await api.settings();
  } catch {
    // The settings view shows its own error when opened.
  }
}

/** Subscribes the shared state to the core's events; returns the unsubscriber. */
export function listenAll(app: AppState): () => void {
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
  void subscribe({
    storeChanged: () => changed(),
    sync: (view) => {
      app.sync = view;
    },
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
  return () => {
    disposed = true;
    changed.cancel();
    stop?.();
  };
}
