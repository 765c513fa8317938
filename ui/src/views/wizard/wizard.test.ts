import { fireEvent, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { AppState } from "../../lib/app.svelte";
import type { SetupProgress } from "../../lib/bindings";
import { account, progress, settingsView } from "../../test/fixtures";
import { callsOf, mockCore, renderView } from "../../test/harness";
import { normalizeSubdomain, validate, newForm } from "./form";
import Wizard from "./Wizard.svelte";

const AUTHORIZE = "https://www.amocrm.ru/oauth?client_id=abc&state=xyz&mode=post_message";

function setup(extra: Record<string, (a: Record<string, unknown>) => unknown> = {}) {
  const calls = mockCore({
    setup_begin: () => ({ authorize_url: AUTHORIZE }),
    setup_progress: () => progress(),
    setup_finish: () => null,
    save_preferences: (a) => a.preferences,
    account: () => account({ source: "account" }),
    start_demo: () => null,
    set_tunnel: (a) => ({ ...(a.tunnel as object), has_secret: false }),
    open_url: () => null,
    ...extra,
  });
  const app = new AppState();
  app.view = "wizard";
  app.settings = settingsView({ connected: false });
  app.prefs = app.settings.preferences;
  return { calls, ...renderView(Wizard, app) };
}

async function fill(subdomain = "office") {
  await fireEvent.input(screen.getByTestId("subdomain"), { target: { value: subdomain } });
  await fireEvent.input(screen.getByTestId("client-id"), { target: { value: "5e0c-client" } });
  await fireEvent.input(screen.getByTestId("client-secret"), { target: { value: "s3cret" } });
}

describe("Set-up wizard", () => {
  it("validates the subdomain and the keys before connecting", async () => {
    const { calls } = setup();
    await fireEvent.input(screen.getByTestId("subdomain"), { target: { value: "my office!" } });
    await fireEvent.click(screen.getByTestId("connect"));
    expect(screen.getByTestId("subdomain").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText("Только латинские буквы, цифры и дефис")).toBeTruthy();
    expect(screen.getByTestId("client-id").getAttribute("aria-invalid")).toBe("true");
    expect(document.activeElement).toBe(screen.getByTestId("subdomain"));
    expect(callsOf(calls, "setup_begin")).toHaveLength(0);
    // Errors clear as the user fixes them.
    await fireEvent.input(screen.getByTestId("subdomain"), { target: { value: "my-office" } });
    expect(screen.getByTestId("subdomain").getAttribute("aria-invalid")).toBeNull();
  });

  it("Connect sends the form to setup_begin and shows the authorize URL and the paste box", async () => {
    const { calls } = setup();
    expect((screen.getByTestId("redirect-uri") as HTMLInputElement).value).toBe("amosync://oauth/callback");
    await fill();
    await fireEvent.click(screen.getByTestId("connect"));
    await waitFor(() => expect(callsOf(calls, "setup_begin")).toHaveLength(1));
    expect(callsOf(calls, "setup_begin")[0].args).toEqual({
      request: {
        site: "amocrm",
        subdomain: "office",
        base_url: null,
        client_id: "5e0c-client",
        client_secret: "s3cret",
        redirect_uri: "amosync://oauth/callback",
      },
    });
    expect(((await screen.findByTestId("authorize-url")) as HTMLInputElement).value).toBe(AUTHORIZE);
    await fireEvent.input(screen.getByTestId("paste-input"), { target: { value: "amosync://oauth/callback?code=def502&state=xyz" } });
    await fireEvent.click(screen.getByTestId("paste-submit"));
    await waitFor(() => expect(callsOf(calls, "setup_finish")[0]?.args).toEqual({ input: "amosync://oauth/callback?code=def502&state=xyz" }));
  });

  it("takes a custom address (the local emulator) for “Other address”", async () => {
    const { calls } = setup();
    await fireEvent.change(screen.getByTestId("site"), { target: { value: "custom" } });
    const base = await screen.findByTestId("base-url");
    await fireEvent.input(base, { target: { value: "ftp://nope" } });
    await fill("");
    await fireEvent.click(screen.getByTestId("connect"));
    expect(base.getAttribute("aria-invalid")).toBe("true");
    await fireEvent.input(base, { target: { value: "http://127.0.0.1:8080/" } });
    await fireEvent.click(screen.getByTestId("connect"));
    await waitFor(() => expect(callsOf(calls, "setup_begin")).toHaveLength(1));
    expect(callsOf(calls, "setup_begin")[0].args.request).toMatchObject({ site: "custom", base_url: "http://127.0.0.1:8080", subdomain: "" });
  });

  it("ticks the checklist from setup events, offers the tunnel, and Finish opens the funnel", async () => {
    const { calls, app } = setup();
    await fill();
    await fireEvent.click(screen.getByTestId("connect"));
    await screen.findByTestId("authorize-url");
    const done = (id: string) => screen.getByTestId(id).dataset.done;
    expect([done("check-authorised"), done("check-webhook"), done("check-sync")]).toEqual(["false", "false", "false"]);
    expect((screen.getByTestId("wizard-finish") as HTMLButtonElement).disabled).toBe(true);

    const push = async (p: Partial<SetupProgress>) => {
      app.setup = progress(p);
      await waitFor(() => expect(app.setup).toBeTruthy());
    };
    await push({ authorised: true, account_name: "Офис" });
    await waitFor(() => expect(done("check-authorised")).toBe("true"));
    expect(screen.getByTestId("check-authorised").textContent).toContain("Доступ разрешён: Офис");
    expect(screen.queryByTestId("authorize-url")).toBeNull();
    expect(screen.getByTestId("tunnel-form")).toBeTruthy();

    await push({ authorised: true, webhook: "registered", leads_synced: 1234 });
    await waitFor(() => expect(done("check-webhook")).toBe("true"));
    expect(done("check-sync")).toBe("false");
    expect(screen.getByTestId("check-sync").textContent?.replace(/\s/g, " ")).toContain("1 234 сделки");

    await push({ authorised: true, webhook: "registered", leads_synced: 1500, first_sync_done: true });
    await waitFor(() => expect(done("check-sync")).toBe("true"));

    await fireEvent.click(screen.getByTestId("tunnel-skip"));
    expect(screen.queryByTestId("tunnel-form")).toBeNull();

    await fireEvent.click(screen.getByTestId("wizard-finish"));
    await waitFor(() => expect(app.view).toBe("funnel"));
    expect(callsOf(calls, "save_preferences").at(-1)?.args.preferences).toMatchObject({ wizard_done: true });
    expect(app.account?.account_name).toBe("Прокат авто");
  });

  it("shows a failed connection with Retry and a way back to the form", async () => {
    const { app } = setup();
    await fill();
    await fireEvent.click(screen.getByTestId("connect"));
    await screen.findByTestId("authorize-url");
    app.connectError = { code: "OAuthDenied", message: "access_denied" };
    const failed = await screen.findByTestId("connect-failed");
    expect(within(failed).getByTestId("error-headline").textContent).toBe("Подключиться не удалось: В amoCRM отказали в доступе.");
    expect(within(failed).getByTestId("error-advice").textContent).toBe("Подключитесь снова и нажмите «Разрешить» на странице amoCRM.");
    expect(within(failed).getByTestId("error-detail").textContent).toBe("access_denied");
    await fireEvent.click(within(failed).getByText("Изменить данные"));
    expect(screen.getByTestId("connect")).toBeTruthy();
  });

  it("shows setup_begin's error on the form", async () => {
    setup({
      setup_begin: () => {
        throw { code: "Unreachable", message: "dns error: office.amocrm.ru" };
      },
    });
    await fill();
    await fireEvent.click(screen.getByTestId("connect"));
    const error = await screen.findByTestId("wizard-error");
    // A Russian headline and what to do; the core's English message only as the detail line.
    expect(within(error).getByTestId("error-headline").textContent).toBe("Нет связи с amoCRM.");
    expect(within(error).getByTestId("error-advice").textContent).toBe("Проверьте подключение к интернету и повторите.");
    expect(within(error).getByTestId("error-detail").textContent).toBe("dns error: office.amocrm.ru");
    expect(screen.getByTestId("connect")).toBeTruthy();
  });

  it("Try the demo starts the emulator and opens the funnel", async () => {
    const { calls, app } = setup({ account: () => account() });
    await fireEvent.click(screen.getByTestId("try-demo"));
    await waitFor(() => expect(app.view).toBe("funnel"));
    expect(callsOf(calls, "start_demo")).toHaveLength(1);
    expect(app.account?.source).toBe("demo");
  });

  it("copies the redirect URI and opens the docs in the browser", async () => {
    const written: string[] = [];
    Object.defineProperty(navigator, "clipboard", { value: { writeText: async (s: string) => void written.push(s) }, configurable: true });
    const { calls } = setup();
    await fireEvent.click(screen.getByTestId("copy-redirect-uri"));
    await waitFor(() => expect(written).toEqual(["amosync://oauth/callback"]));
    await fireEvent.click(screen.getByTestId("docs-link"));
    expect(callsOf(calls, "open_url")[0].args.url).toMatch(/^https:\/\/www\.amocrm\.ru\//);
  });
});

describe("set-up form", () => {
  it("normalizes a pasted account address to its subdomain", () => {
    expect(normalizeSubdomain("https://office.amocrm.ru/leads/")).toBe("office");
    expect(normalizeSubdomain("shop.kommo.com")).toBe("shop");
    expect(normalizeSubdomain(" my-office ")).toBe("my-office");
  });

  it("accepts letters, digits and hyphens only", () => {
    const errors = (subdomain: string) => validate({ ...newForm(subdomain), clientId: "a", clientSecret: "b" });
    expect(errors("office-2")).toEqual({});
    expect(errors("").subdomain).toBe("wizard.err.subdomainEmpty");
    expect(errors("офис").subdomain).toBe("wizard.err.subdomain");
    expect(errors("-office").subdomain).toBe("wizard.err.subdomain");
    expect(errors("a.b").subdomain).toBe("wizard.err.subdomain");
  });
});
