import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import App from "./App.svelte";
import { AppState } from "./lib/app.svelte";
import { EVENT } from "./lib/events";
import type { FunnelQuery } from "./lib/bindings";
import { account, chatsView, funnel, leadsPage, progress, settingsView, syncView } from "./test/fixtures";
import { emit } from "@tauri-apps/api/event";
import { callsOf, delayListen, mockCore, push, settle, type Handler } from "./test/harness";

function core(extra: Record<string, Handler> = {}) {
  return mockCore({
    settings: () => settingsView(),
    account: () => account(),
    sync_status: () => syncView({ mode: "demo", webhook: "registered" }),
    funnel: (a) => funnel((a.query as FunnelQuery).pipeline_id, (a.query as FunnelQuery).with_time_in_status),
    leads: (a) => leadsPage(a.query as never, 30),
    chats: () => chatsView(),
    setup_progress: () => progress(),
    ...extra,
  });
}

function start(app = new AppState()) {
  render(App, { props: { app } });
  return app;
}

const funnelPainted = () => waitFor(() => expect(screen.getByTestId("app").dataset.ready).toBe("true"));

describe("App shell", () => {
  it("paints the funnel with data, the account with its Demo badge and the sync pill", async () => {
    core();
    start();
    expect(screen.getByTestId("app").dataset.ready).toBe("false");
    await funnelPainted();
    expect(screen.getAllByTestId("funnel-row")).toHaveLength(4);
    expect(screen.getByTestId("account-name").textContent).toBe("Прокат авто");
    expect(screen.getByTestId("demo-badge").textContent).toBe("Демо");
    expect(screen.getByTestId("sync-pill").textContent?.trim()).toBe("Демо");
    expect(screen.getByTestId("sync-pill").dataset.mode).toBe("demo");
    expect(window.__amosyncMetrics?.funnelPaintedAt).toBeTypeOf("number");
    expect(document.documentElement.dataset.theme).toBe("light");
    expect(document.documentElement.lang).toBe("ru");
  });

  it("opens the set-up wizard on the first run", async () => {
    core({
      settings: () => settingsView({ connected: false, account_name: null, preferences: { ...settingsView().preferences, wizard_done: false } }),
      account: () => {
        throw { code: "NotConnected", message: "no account yet" };
      },
    });
    start();
    expect(await screen.findByTestId("wizard")).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId("app").dataset.ready).toBe("true"));
    expect(screen.getByTestId("account").textContent).toContain("Аккаунт не подключён");
  });

  it("navigates with the left nav (click, and arrows between entries)", async () => {
    core();
    start();
    await funnelPainted();
    await fireEvent.click(screen.getByTestId("nav-leads"));
    expect(await screen.findByTestId("leads-table")).toBeTruthy();
    expect(screen.getByTestId("nav-leads").getAttribute("aria-current")).toBe("page");
    await fireEvent.click(screen.getByTestId("nav-chats"));
    expect(await screen.findByTestId("chats-list")).toBeTruthy();
    await fireEvent.click(screen.getByTestId("nav-sync"));
    expect(await screen.findByTestId("sync-connection")).toBeTruthy();
    await fireEvent.click(screen.getByTestId("nav-settings"));
    expect(await screen.findByTestId("language")).toBeTruthy();

    const nav = screen.getByTestId("nav-funnel");
    nav.focus();
    await fireEvent.keyDown(nav, { key: "ArrowDown" });
    expect(document.activeElement).toBe(screen.getByTestId("nav-leads"));
    await fireEvent.keyDown(document.activeElement!, { key: "ArrowUp" });
    await fireEvent.keyDown(document.activeElement!, { key: "ArrowUp" });
    expect(document.activeElement).toBe(screen.getByTestId("nav-settings"));
  });

  it("a status click in the funnel lists its leads", async () => {
    const calls = core();
    start();
    await funnelPainted();
    await fireEvent.click(screen.getAllByTestId("funnel-row")[1]);
    await screen.findAllByTestId("lead-row");
    expect((callsOf(calls, "leads").at(-1)?.args.query as { status_id: number }).status_id).toBe(69641341);
    expect(screen.getByTestId("chip-status").textContent).toContain("Переговоры");
  });

  it("re-reads the current view once per burst of store changes", async () => {
    const calls = core();
    start();
    await funnelPainted();
    await waitFor(() => expect(callsOf(calls, "funnel")).toHaveLength(2));
    for (let v = 1; v <= 5; v++) await push(EVENT.storeChanged, v);
    await waitFor(() => expect(callsOf(calls, "funnel").length).toBeGreaterThan(2), { timeout: 400 });
    await new Promise((r) => setTimeout(r, 250));
    expect(callsOf(calls, "funnel")).toHaveLength(4); // one refresh: counts, then medians
  });

  it("follows pushed sync state, show requests and setup progress", async () => {
    core();
    const app = start();
    await funnelPainted();
    await push(EVENT.sync, syncView({ mode: "demo", webhook: "disabled" }));
    expect(screen.getByTestId("sync-pill").textContent?.trim()).toBe("Вебхук отключён");
    expect(screen.getByTestId("sync-pill").dataset.webhook).toBe("disabled");

    await push(EVENT.show, "settings");
    expect(await screen.findByTestId("language")).toBeTruthy();
    await push(EVENT.show, "nonsense");
    expect(app.view).toBe("settings");

    await push(EVENT.show, "wizard");
    await screen.findByTestId("wizard");
    await push(EVENT.setup, progress({ authorised: true, account_name: "Офис" }));
    expect(app.setup?.authorised).toBe(true);
    await push(EVENT.connectFailed, { code: "OAuthDenied", message: "access_denied" });
    expect(app.connectError?.code).toBe("OAuthDenied");
  });

  it("subscribes before the first reads: a push right after sync_status's answer is not lost", async () => {
    const calls = core({
      sync_status: () => {
        // The core answers, then pushes a newer state (and never repeats it).
        void emit(EVENT.sync, syncView({ mode: "demo", webhook: "disabled" }));
        return syncView({ mode: "demo", webhook: "registered" });
      },
    });
    delayListen(20);
    start();
    await funnelPainted();
    await waitFor(() => expect(callsOf(calls, "sync_status")).toHaveLength(1));
    await settle();
    expect(screen.getByTestId("sync-pill").dataset.webhook).toBe("disabled");
  });

  it("reloads the account when connected", async () => {
    let name = "Прокат авто";
    core({ account: () => account({ account_name: name, source: "account" }) });
    start();
    await funnelPainted();
    name = "Новый офис";
    await push(EVENT.connected, null);
    await waitFor(() => expect(screen.getByTestId("account-name").textContent).toBe("Новый офис"));
    expect(screen.queryByTestId("demo-badge")).toBeNull();
  });

  it("uses the saved language and theme", async () => {
    core({ settings: () => settingsView({ preferences: { ...settingsView().preferences, language: "en", theme: "dark" } }) });
    start();
    await funnelPainted();
    expect(within(screen.getByRole("navigation")).getByText("Leads")).toBeTruthy();
    expect(screen.getByTestId("won-count")).toBeTruthy();
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(document.documentElement.lang).toBe("en");
  });

  it("still shows the funnel when settings cannot be read", async () => {
    core({
      settings: () => {
        throw { code: "Local", message: "no settings yet" };
      },
    });
    start();
    await funnelPainted();
    await settle();
    expect(screen.queryByTestId("wizard")).toBeNull();
  });

  it("shows the account error with Retry instead of a blank page", async () => {
    let fail = true;
    core({
      account: () => {
        if (fail) throw { code: "StoreUnavailable", message: "locked by amosync serve" };
        return account();
      },
    });
    start();
    const alert = await screen.findByTestId("error");
    expect(alert.textContent).toContain("Локальное хранилище недоступно.");
    fail = false;
    await fireEvent.click(within(alert).getByTestId("retry"));
    await funnelPainted();
  });
});
