import { fireEvent, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { AppState } from "../../lib/app.svelte";
import { formatTime } from "../../lib/format";
import { pillText } from "../../lib/syncText";
import { translate } from "../../lib/i18n";
import { syncView } from "../../test/fixtures";
import { EVENT } from "../../lib/events";
import { listenAll } from "../../shell/boot";
import { callsOf, mockCore, push, renderView, settle, spaces } from "../../test/harness";
import SyncPage from "./SyncPage.svelte";
import SyncPill from "./SyncPill.svelte";

function pill() {
  return screen.getByTestId("sync-pill");
}

describe("Sync pill", () => {
  it("says synced, webhook disabled, offline since, catching up, demo — with its data attributes", async () => {
    mockCore({});
    const app = new AppState();
    app.sync = syncView();
    renderView(SyncPill, app);
    expect(pill().textContent?.trim()).toBe("Синхронизировано");
    expect(pill().dataset.webhook).toBe("registered");
    expect(pill().dataset.mode).toBe("embedded");

    app.sync = syncView({ webhook: "disabled" });
    await waitFor(() => expect(pill().textContent?.trim()).toBe("Вебхук отключён"));
    expect(pill().dataset.webhook).toBe("disabled");

    const today = new Date();
    today.setHours(14, 2, 0, 0);
    app.sync = syncView({ online: false, offline_since: today.getTime() / 1000 });
    await waitFor(() => expect(pill().textContent?.trim()).toBe("Нет связи с 14:02"));

    app.sync = syncView({ catching_up: true });
    await waitFor(() => expect(pill().textContent?.trim()).toBe("Догоняем…"));

    app.sync = syncView({ mode: "demo", webhook: "no_public_url", tunnel: "local" });
    await waitFor(() => expect(pill().textContent?.trim()).toBe("Демо"));
    expect(pill().dataset.mode).toBe("demo");

    app.lang = "en";
    app.sync = syncView({ webhook: "disabled", mode: "demo" });
    await waitFor(() => expect(pill().textContent?.trim()).toBe("Webhook disabled"));

    await fireEvent.click(pill());
    expect(app.view).toBe("sync");
  });

  it("puts the most pressing state first", () => {
    const at = (v: Parameters<typeof pillText>[0]) => {
      const p = pillText(v, (s) => formatTime("ru-RU", s));
      return translate("ru", p.key, p.params);
    };
    expect(at(null)).toBe("Подключаемся…");
    expect(at(syncView({ issues: [{ code: "reconnect_needed", message: "", action: "reconnect" }], online: false }))).toBe("Нужно переподключиться");
    expect(at(syncView({ online: false, offline_since: null, webhook: "disabled" }))).toBe("Нет связи");
    expect(at(syncView({ webhook: "not_admin" }))).toBe("Нет прав администратора");
    expect(at(syncView({ webhook: "no_public_url" }))).toBe("Нет публичного адреса");
    expect(at(syncView({ webhook: "pending" }))).toBe("Подключаем вебхук…");
    expect(at(syncView({ mode: "starting" }))).toBe("Запуск…");
    expect(at(syncView({ first_sync_done: false }))).toBe("Догоняем…");
  });
});

describe("Sync page", () => {
  it("reads the state once and shows account, webhook, tunnel, events, API use and pending work", async () => {
    const calls = mockCore({ sync_status: () => syncView({ api_429s: 2, events_pending: 3, fetch_pending: 1 }) });
    const app = new AppState();
    renderView(SyncPage, app);
    const connection = await screen.findByTestId("sync-connection");
    expect(connection.textContent).toContain("Прокат авто");
    expect(connection.textContent).toContain("в приложении");
    expect(screen.getByTestId("sync-webhook").textContent).toContain("зарегистрирован");
    expect(screen.getByTestId("sync-tunnel").textContent).toContain("работает · ngrok");
    expect(connection.textContent).toContain("https://office.ngrok.app");
    expect(screen.getByTestId("sync-epm").textContent).toBe("4");
    expect(spaces(screen.getByTestId("sync-api").textContent)).toContain("3,5 из 7 в секунду");
    expect(screen.getByRole("meter").getAttribute("aria-valuenow")).toBe("3.5");
    expect(spaces(screen.getByTestId("sync-requests").textContent)).toBe("1 234");
    expect(screen.getByTestId("sync-429s").textContent).toBe("2");
    expect(screen.getByTestId("sync-pending").textContent).toContain("событий: 3, загрузок: 1");
    expect(screen.getByTestId("sync-issues").textContent).toContain("Проблем нет.");
    expect(callsOf(calls, "sync_status")).toHaveLength(1);
  });

  it("lists issues with their actions: re-register calls sync_action, Reconnect opens the wizard", async () => {
    const calls = mockCore({
      sync_status: () =>
        syncView({
          webhook: "disabled",
          issues: [
            { code: "webhook_disabled", message: "amoCRM disabled the hook after errors", action: "reregister_webhook" },
            { code: "reconnect_needed", message: "refresh token revoked", action: "reconnect" },
            { code: "no_tunnel", message: "", action: "open_settings" },
          ],
        }),
      sync_action: () => null,
    });
    const app = new AppState();
    renderView(SyncPage, app);
    const issues = await screen.findAllByTestId("sync-issue");
    expect(issues.map((i) => i.dataset.code)).toEqual(["webhook_disabled", "reconnect_needed", "no_tunnel"]);
    expect(within(issues[0]).getByTestId("issue-headline").textContent).toBe(
      "amoCRM отключил вебхук: изменения приходят только при догрузке.",
    );
    expect(within(issues[0]).getByTestId("issue-detail").textContent).toBe("amoCRM disabled the hook after errors");
    expect(within(issues[2]).queryByTestId("issue-detail")).toBeNull();
    await fireEvent.click(within(issues[0]).getByTestId("action-reregister_webhook"));
    await waitFor(() => expect(callsOf(calls, "sync_action").at(-1)?.args).toEqual({ action: "reregister_webhook" }));
    expect(await within(issues[0]).findByText(/Готово/)).toBeTruthy();

    await fireEvent.click(screen.getByTestId("sync-now"));
    await waitFor(() => expect(callsOf(calls, "sync_action").at(-1)?.args).toEqual({ action: "sync_now" }));

    await fireEvent.click(within(issues[2]).getByTestId("action-open_settings"));
    expect(app.view).toBe("settings");
    await fireEvent.click(within(issues[1]).getByTestId("action-reconnect"));
    expect(app.view).toBe("wizard");
  });

  it("shows the UI's own issue text as the headline, and the core's localised message once", async () => {
    mockCore({
      sync_status: () =>
        syncView({
          issues: [
            { code: "tunnel_down", message: "Туннель не работает.", action: null },
            { code: "offline", message: "Сеть недоступна: таймаут", action: null },
          ],
        }),
    });
    renderView(SyncPage, new AppState());
    const issues = await screen.findAllByTestId("sync-issue");
    expect(issues.map((i) => within(i).getByTestId("issue-headline").textContent)).toEqual(["Туннель не работает.", "Нет связи с amoCRM."]);
    expect(within(issues[0]).queryByTestId("issue-detail")).toBeNull();
    expect(within(issues[1]).getByTestId("issue-detail").textContent).toBe("Сеть недоступна: таймаут");
  });

  it("shows a failed action's meaning", async () => {
    mockCore({
      sync_status: () => syncView(),
      sync_action: () => {
        throw { code: "Unreachable", message: "connect timeout" };
      },
    });
    renderView(SyncPage);
    await fireEvent.click(await screen.findByTestId("sync-now"));
    expect((await screen.findByRole("alert")).textContent).toContain("Нет связи с amoCRM.");
  });

  it("follows the pushed state without asking again", async () => {
    const calls = mockCore({ sync_status: () => syncView() });
    const app = new AppState();
    renderView(SyncPage, app);
    await screen.findByTestId("sync-connection");
    app.sync = syncView({ online: false, offline_since: 1_770_000_000, catching_up: true });
    await waitFor(() => expect(screen.getByTestId("sync-online").textContent).toContain("нет с"));
    expect(screen.getByTestId("sync-catchup").textContent).toContain("идёт");
    expect(callsOf(calls, "sync_status")).toHaveLength(1);
  });

  it("a push that arrives while the state is being read wins over the older answer", async () => {
    let answer: () => void = () => {};
    const calls = mockCore({
      sync_status: () => new Promise((r) => (answer = () => r(syncView({ online: true })))),
    });
    const app = new AppState();
    await listenAll(app).ready;
    renderView(SyncPage, app);
    await waitFor(() => expect(callsOf(calls, "sync_status")).toHaveLength(1));
    await push(EVENT.sync, syncView({ online: false, offline_since: 1_770_000_000 }));
    answer();
    await settle();
    await settle();
    expect(app.sync?.online).toBe(false);
    expect(screen.getByTestId("sync-online").textContent).toContain("нет с");
    expect(app.ready).toBe(true);
  });

  it("shows an error with Retry when the state cannot be read", async () => {
    let fail = true;
    mockCore({
      sync_status: () => {
        if (fail) throw { code: "Local", message: "session gone" };
        return syncView();
      },
    });
    renderView(SyncPage);
    const alert = await screen.findByTestId("error");
    fail = false;
    await fireEvent.click(within(alert).getByTestId("retry"));
    expect(await screen.findByTestId("sync-connection")).toBeTruthy();
  });
});
