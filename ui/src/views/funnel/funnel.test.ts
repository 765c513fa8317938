import { fireEvent, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { FunnelQuery } from "../../lib/bindings";
import { account, CORP, emptyFunnel, funnel, MAIN, NEW_LEAD } from "../../test/fixtures";
import { callsOf, mockCore, renderView, spaces } from "../../test/harness";
import { AppState } from "../../lib/app.svelte";
import FunnelView from "./FunnelView.svelte";

function withAccount(app = new AppState()) {
  app.account = account();
  return app;
}

const queryOf = (args: Record<string, unknown>) => args.query as FunnelQuery;

describe("Funnel", () => {
  it("shows every status with count, money, conversions and, after the second pass, median times", async () => {
    const calls = mockCore({
      funnel: (a) => funnel(queryOf(a).pipeline_id, queryOf(a).with_time_in_status),
    });
    renderView(FunnelView, withAccount());
    const rows = await screen.findAllByTestId("funnel-row");
    expect(rows.map((r) => r.dataset.statusId)).toEqual([String(NEW_LEAD), "69641341", "142", "143"]);
    const first = rows[0];
    expect(first.textContent).toContain("Новый лид");
    expect(within(first).getByTestId("count").textContent).toBe("12");
    expect(spaces(within(first).getByTestId("money").textContent)).toBe("3 400 ₽");
    expect(within(first).getByTestId("money").dataset.value).toBe("3400");
    expect(spaces(within(first).getByTestId("conv-next").textContent)).toBe("40 %");
    expect(spaces(within(first).getByTestId("conv-won").textContent)).toBe("25 %");
    expect(screen.getByTestId("won-count").textContent).toBe("5");
    expect(screen.getByTestId("lost-count").textContent).toBe("2");
    expect(spaces(screen.getByTestId("won-money").textContent)).toBe("9 100 ₽");
    expect(spaces(screen.getByTestId("win-rate").textContent)).toBe("71,4 %");
    await waitFor(() => expect(spaces(within(first).getByTestId("median").textContent)).toBe("2 дн. 3 ч"));
    expect(spaces(within(rows[1]).getByTestId("median").textContent)).toBe("12 мин");
    // Counts first, medians in a second pass.
    expect(callsOf(calls, "funnel").map((c) => queryOf(c.args).with_time_in_status)).toEqual([false, true]);
    expect(queryOf(callsOf(calls, "funnel")[0].args)).toMatchObject({ pipeline_id: MAIN, created: null, closed: null, responsible_user_ids: [] });
  });

  it("records when the funnel was first painted and marks the app ready", async () => {
    mockCore({ funnel: () => funnel() });
    const { app } = renderView(FunnelView, withAccount());
    await screen.findAllByTestId("funnel-row");
    await waitFor(() => expect(window.__amosyncMetrics?.funnelPaintedAt).toBeTypeOf("number"));
    expect(app.ready).toBe(true);
  });

  it("switches pipeline: asks for the new one and records the switch time", async () => {
    const calls = mockCore({ funnel: (a) => (queryOf(a).pipeline_id === CORP ? emptyFunnel() : funnel()) });
    renderView(FunnelView, withAccount());
    await screen.findAllByTestId("funnel-row");
    const picker = screen.getByTestId("pipeline") as HTMLSelectElement;
    expect(picker.value).toBe(String(MAIN));
    expect(picker.options[0].textContent).toBe("Первичка (основная)");
    await fireEvent.change(picker, { target: { value: String(CORP) } });
    await screen.findByTestId("funnel-empty");
    expect(callsOf(calls, "funnel").some((c) => queryOf(c.args).pipeline_id === CORP)).toBe(true);
    await waitFor(() => expect(window.__amosyncMetrics?.switches.length).toBe(1));
    expect(screen.getByTestId("funnel-empty").textContent).toBe("В этой воронке нет сделок с такими фильтрами.");
  });

  it("filters by responsible users and by a created-date range", async () => {
    const calls = mockCore({ funnel: () => funnel() });
    renderView(FunnelView, withAccount());
    await screen.findAllByTestId("funnel-row");
    await fireEvent.click(screen.getByTestId("users"));
    await fireEvent.click(screen.getByLabelText("Иван Сидоров"));
    await fireEvent.keyDown(window, { key: "Escape" });
    expect(screen.queryByTestId("users-list")).toBeNull();
    await fireEvent.input(screen.getByTestId("date-from"), { target: { value: "2026-05-01" } });
    await waitFor(() => {
      const last = queryOf(callsOf(calls, "funnel").at(-1)!.args);
      expect(last.responsible_user_ids).toEqual([2]);
      expect(last.created?.from).toBe(new Date(2026, 4, 1).getTime() / 1000);
      expect(last.created?.to).toBeNull();
    });
    expect(screen.getByTestId("users").textContent).toContain("Ответственных: 1");
  });

  it("cuts the date range at midnight in the account's time zone and says which zone", async () => {
    const calls = mockCore({ funnel: () => funnel() });
    const app = new AppState();
    app.account = account({ time_zone: "Asia/Tbilisi" });
    renderView(FunnelView, app);
    await screen.findAllByTestId("funnel-row");
    expect(screen.getByTestId("time-zone").textContent).toContain("по часовому поясу аккаунта (Asia/Tbilisi)");
    await fireEvent.input(screen.getByTestId("date-from"), { target: { value: "2026-05-01" } });
    await fireEvent.input(screen.getByTestId("date-to"), { target: { value: "2026-05-31" } });
    await waitFor(() => {
      const last = queryOf(callsOf(calls, "funnel").at(-1)!.args);
      // Midnight in Tbilisi (+04:00) is 20:00 UTC the day before, whatever this computer's zone.
      expect(last.created).toEqual({ from: Date.UTC(2026, 3, 30, 20) / 1000, to: Date.UTC(2026, 4, 31, 20) / 1000 });
    });
  });

  it("says when the account's zone is unknown and the computer's is used", async () => {
    mockCore({ funnel: () => funnel() });
    renderView(FunnelView, withAccount());
    await screen.findAllByTestId("funnel-row");
    expect(screen.getByTestId("time-zone").textContent).toContain("по часовому поясу этого компьютера");
  });

  it("a click on a status opens the leads view filtered to it; Enter does too", async () => {
    mockCore({ funnel: () => funnel() });
    const app = withAccount();
    app.funnelFilter.users = [1];
    renderView(FunnelView, app);
    const rows = await screen.findAllByTestId("funnel-row");
    await fireEvent.click(rows[0]);
    expect(app.view).toBe("leads");
    expect(app.leadsFilter).toMatchObject({ pipelineId: MAIN, statusId: NEW_LEAD, users: [1] });

    app.view = "funnel";
    await fireEvent.keyDown(rows[2], { key: "Enter" });
    // A native button turns Enter into a click; jsdom does not, so click as the browser would.
    await fireEvent.click(rows[2]);
    expect(app.leadsFilter.statusId).toBe(142);
  });

  it("moves between status rows with the arrow keys", async () => {
    mockCore({ funnel: () => funnel() });
    renderView(FunnelView, withAccount());
    const rows = await screen.findAllByTestId("funnel-row");
    rows[0].focus();
    await fireEvent.keyDown(rows[0], { key: "ArrowDown" });
    expect(document.activeElement).toBe(rows[1]);
    await fireEvent.keyDown(rows[1], { key: "ArrowUp" });
    expect(document.activeElement).toBe(rows[0]);
  });

  it("says when the account has no pipelines yet", async () => {
    mockCore({});
    const app = new AppState();
    app.account = account({ pipelines: [] });
    renderView(FunnelView, app);
    expect((await screen.findByTestId("empty")).textContent).toContain("Воронок пока нет");
  });

  it("shows the error's meaning and code, and Retry loads again", async () => {
    let fail = true;
    mockCore({
      funnel: () => {
        if (fail) throw { code: "StoreUnavailable", message: "the store is locked by another process" };
        return funnel();
      },
    });
    renderView(FunnelView, withAccount());
    const alert = await screen.findByTestId("error");
    expect(alert.textContent).toContain("Локальное хранилище недоступно.");
    expect(alert.textContent).toContain("StoreUnavailable");
    expect(alert.textContent).toContain("locked by another process");
    fail = false;
    await fireEvent.click(within(alert).getByTestId("retry"));
    expect(await screen.findAllByTestId("funnel-row")).toHaveLength(4);
    expect(screen.queryByTestId("error")).toBeNull();
  });

  it("offers to connect when no account is connected", async () => {
    mockCore({});
    const app = new AppState();
    app.accountError = { code: "NotConnected", message: "no account" };
    renderView(FunnelView, app);
    await fireEvent.click(await screen.findByTestId("error-setup"));
    expect(app.view).toBe("wizard");
  });

  it("re-reads the funnel when the store changes, keeping the rows on screen", async () => {
    let won = 5;
    const calls = mockCore({ funnel: () => ({ ...funnel(), won_count: won }) });
    const { app } = renderView(FunnelView, withAccount());
    await screen.findAllByTestId("funnel-row");
    await waitFor(() => expect(callsOf(calls, "funnel")).toHaveLength(2));
    won = 6;
    app.storeVersion++;
    await waitFor(() => expect(screen.getByTestId("won-count").textContent).toBe("6"));
    expect(screen.getAllByTestId("funnel-row")).toHaveLength(4);
  });
});
