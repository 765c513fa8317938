import { fireEvent, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { AppState } from "../../lib/app.svelte";
import type { ExportRequest, Preferences } from "../../lib/bindings";
import { account, funnel, settingsView } from "../../test/fixtures";
import { callsOf, mockCore, renderView } from "../../test/harness";
import SettingsView from "./SettingsView.svelte";

function setup(extra: Record<string, (a: Record<string, unknown>) => unknown> = {}) {
  const calls = mockCore({
    settings: () => settingsView(),
    save_preferences: (a) => a.preferences,
    set_tunnel: (a) => {
      const t = a.tunnel as { provider: string; address: string | null; secret: string | null };
      return { provider: t.provider, address: t.address, has_secret: t.secret != null };
    },
    export: (a) => ({ path: `/home/office/Downloads/amosync-${(a.request as ExportRequest).kind}.csv`, rows: 22 }),
    disconnect: () => null,
    funnel: () => funnel(),
    ...extra,
  });
  const app = new AppState();
  app.account = account();
  return { calls, ...renderView(SettingsView, app) };
}

describe("Settings", () => {
  it("shows preferences, tunnel (secret never shown back), data folder and keychain", async () => {
    setup();
    expect(((await screen.findByTestId("language")) as HTMLSelectElement).value).toBe("ru");
    expect((screen.getByTestId("theme") as HTMLSelectElement).value).toBe("system");
    expect((screen.getByTestId("pref-notifications") as HTMLInputElement).checked).toBe(true);
    expect((screen.getByTestId("pref-autostart") as HTMLInputElement).checked).toBe(false);
    expect((screen.getByTestId("tunnel-provider") as HTMLSelectElement).value).toBe("ngrok");
    expect((screen.getByTestId("tunnel-address") as HTMLInputElement).value).toBe("office.ngrok.app");
    expect((screen.getByTestId("tunnel-secret") as HTMLInputElement).value).toBe("");
    expect(screen.getByTestId("tunnel-secret-saved").textContent).toContain("Сохранено");
    expect((screen.getByTestId("data-dir") as HTMLInputElement).value).toBe("/home/office/.local/share/amosync");
    expect(screen.getByText("в системной связке ключей")).toBeTruthy();
  });

  it("switching the language changes the labels at once and saves the preference", async () => {
    let answer: (p: Preferences) => void = () => {};
    const { calls, app } = setup({ save_preferences: (a) => new Promise((r) => (answer = () => r(a.preferences))) });
    const select = await screen.findByTestId("language");
    expect(screen.getByText("Настройки")).toBeTruthy();
    await fireEvent.change(select, { target: { value: "en" } });
    // Applied before the core answers.
    expect(screen.getByText("Settings")).toBeTruthy();
    expect(screen.getByTestId("export-leads-csv").textContent?.trim()).toBe("Leads → CSV");
    expect(app.lang).toBe("en");
    await waitFor(() => expect(callsOf(calls, "save_preferences")).toHaveLength(1));
    expect(callsOf(calls, "save_preferences")[0].args.preferences).toMatchObject({ language: "en", theme: "system", wizard_done: true });
    answer({} as Preferences);
  });

  it("theme and toggles are saved", async () => {
    const { calls, app } = setup();
    await fireEvent.change(await screen.findByTestId("theme"), { target: { value: "dark" } });
    expect(app.theme).toBe("dark");
    await fireEvent.click(screen.getByTestId("pref-autostart"));
    await waitFor(() => expect(callsOf(calls, "save_preferences").at(-1)?.args.preferences).toMatchObject({ theme: "dark", autostart: true }));
  });

  it("saves the tunnel with set_tunnel (an empty secret keeps the saved one)", async () => {
    const { calls } = setup();
    await fireEvent.change(await screen.findByTestId("tunnel-provider"), { target: { value: "url" } });
    expect(screen.queryByTestId("tunnel-secret")).toBeNull();
    await fireEvent.click(screen.getByTestId("tunnel-save"));
    expect(screen.getByTestId("tunnel-address").getAttribute("aria-invalid")).toBe("true");
    expect(callsOf(calls, "set_tunnel")).toHaveLength(0);
    await fireEvent.input(screen.getByTestId("tunnel-address"), { target: { value: "https://crm-hooks.example.com/amosync" } });
    await fireEvent.click(screen.getByTestId("tunnel-save"));
    await waitFor(() =>
      expect(callsOf(calls, "set_tunnel")[0]?.args).toEqual({
        tunnel: { provider: "url", address: "https://crm-hooks.example.com/amosync", secret: null },
      }),
    );
    expect(await screen.findByText(/Туннель сохранён/)).toBeTruthy();
  });

  it("exports with the current filters and says where the file was saved", async () => {
    const { calls, app } = setup();
    app.leadsFilter.search = "VIP";
    await fireEvent.click(await screen.findByTestId("export-leads-csv"));
    const result = screen.getByTestId("export-result");
    await waitFor(() => expect(result.textContent).toContain("Сохранено в /home/office/Downloads/amosync-leads.csv"));
    const request = callsOf(calls, "export")[0].args.request as ExportRequest;
    expect(request).toMatchObject({ kind: "leads", format: "csv", funnel: null });
    expect(request.leads).toMatchObject({ search: "VIP", offset: 0 });

    await fireEvent.click(screen.getByTestId("export-funnel-xlsx"));
    await waitFor(() => expect(callsOf(calls, "export")).toHaveLength(2));
    expect(callsOf(calls, "export")[1].args.request).toMatchObject({ kind: "funnel", format: "xlsx", leads: null, funnel: { pipeline_id: 8580102 } });
  });

  it("shows an export error", async () => {
    setup({
      export: () => {
        throw { code: "Local", message: "Downloads is read-only" };
      },
    });
    await fireEvent.click(await screen.findByTestId("export-leads-xlsx"));
    await waitFor(() => expect(screen.getByTestId("export-result").textContent).toContain("Downloads is read-only"));
  });

  it("disconnects after a confirm step, then opens the wizard", async () => {
    const { calls, app } = setup();
    await fireEvent.click(await screen.findByTestId("disconnect"));
    expect(callsOf(calls, "disconnect")).toHaveLength(0);
    expect(screen.getByRole("alertdialog").textContent).toContain("Отключить Прокат авто?");
    await fireEvent.click(screen.getByTestId("disconnect-cancel"));
    await fireEvent.click(screen.getByTestId("disconnect"));
    await fireEvent.click(screen.getByTestId("disconnect-confirm"));
    await waitFor(() => expect(app.view).toBe("wizard"));
    expect(callsOf(calls, "disconnect")).toHaveLength(1);
    expect(app.account).toBeNull();
  });

  it("after a disconnect, the next save keeps the core's wizard_done: false", async () => {
    let connected = true;
    const { calls, app } = setup({
      settings: () =>
        connected ? settingsView() : settingsView({ connected: false, preferences: { ...settingsView().preferences, wizard_done: false } }),
      disconnect: () => {
        connected = false;
        return null;
      },
    });
    await fireEvent.click(await screen.findByTestId("disconnect"));
    await fireEvent.click(screen.getByTestId("disconnect-confirm"));
    await waitFor(() => expect(app.view).toBe("wizard"));
    expect(app.prefs?.wizard_done).toBe(false);
    await app.savePreferences({ theme: "dark" });
    const saved = callsOf(calls, "save_preferences").at(-1)!.args.preferences as Preferences;
    expect(saved).toMatchObject({ theme: "dark", wizard_done: false });
  });

  it("shows an error with Retry when settings cannot be read", async () => {
    let fail = true;
    setup({
      settings: () => {
        if (fail) throw { code: "StoreUnavailable", message: "locked" };
        return settingsView();
      },
    });
    const alert = await screen.findByTestId("error");
    expect(within(alert).getByTestId("error-headline").textContent).toBe("Локальное хранилище недоступно.");
    expect(within(alert).getByTestId("error-advice").textContent).toContain("Закройте другие копии AmoSync");
    expect(within(alert).getByTestId("error-detail").textContent).toBe("locked");
    fail = false;
    await fireEvent.click(within(alert).getByTestId("retry"));
    expect(await screen.findByTestId("language")).toBeTruthy();
  });
});
