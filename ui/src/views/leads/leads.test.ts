import { fireEvent, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { AppState } from "../../lib/app.svelte";
import type { LeadsQuery } from "../../lib/bindings";
import { account, leadCard, leadsPage, MAIN, NEW_LEAD } from "../../test/fixtures";
import { callsOf, mockCore, renderView, settle, spaces } from "../../test/harness";
import LeadsView from "./LeadsView.svelte";
import { ROW_HEIGHT } from "./virtual";

const queryOf = (args: Record<string, unknown>) => args.query as LeadsQuery;

function setup(total: number, app = new AppState()) {
  app.account = account();
  const calls = mockCore({
    leads: (a) => leadsPage(queryOf(a), total),
    lead: (a) => leadCard(a.id as number),
    open_url: () => null,
  });
  return { calls, ...renderView(LeadsView, app) };
}

describe("Leads", () => {
  it("shows the rows of the first page with status, price, contact and phone, and the total", async () => {
    const { calls } = setup(3);
    const rows = await screen.findAllByTestId("lead-row");
    expect(rows).toHaveLength(3);
    expect(rows[0].dataset.leadId).toBe("1");
    expect(rows[0].textContent).toContain("Сделка №1");
    expect(rows[0].textContent).toContain("Новый лид");
    expect(rows[0].textContent).toContain("Клиент 1");
    expect(rows[0].textContent).toContain("+7 900 000-0001");
    expect(spaces(rows[0].textContent)).toContain("1 001 ₽");
    expect(screen.getByTestId("leads-total").textContent?.trim()).toBe("3 сделки");
    expect(queryOf(callsOf(calls, "leads")[0].args)).toMatchObject({
      offset: 0, limit: 200, search: null, pipeline_id: null, status_id: null, order: "updated_desc", include_deleted: false,
    });
  });

  it("keeps only a window of rows in the DOM for 100,000 leads and fetches the page under a scroll", async () => {
    const { calls } = setup(100_000);
    await screen.findAllByTestId("lead-row");
    const table = screen.getByTestId("leads-table");
    expect(table.querySelector<HTMLElement>('[role="rowgroup"]')!.style.height).toBe(`${100_000 * ROW_HEIGHT}px`);
    expect(screen.getAllByTestId("lead-row").length).toBeLessThanOrEqual(40);
    expect(spaces(screen.getByTestId("leads-total").textContent)).toBe("100 000 сделок");

    table.scrollTop = 12_345 * ROW_HEIGHT;
    await fireEvent.scroll(table);
    await waitFor(() => expect(callsOf(calls, "leads").some((c) => queryOf(c.args).offset === 12_200)).toBe(true));
    await waitFor(() => expect(screen.getAllByTestId("lead-row").some((r) => r.dataset.leadId === "12346")).toBe(true));
    const ids = screen.getAllByTestId("lead-row").map((r) => Number(r.dataset.leadId));
    expect(ids.length).toBeLessThanOrEqual(40);
    expect(Math.min(...ids)).toBeGreaterThan(12_300);
    // Only the pages around the viewport were asked for.
    expect(callsOf(calls, "leads").map((c) => queryOf(c.args).offset)).toEqual([0, 12_200]);
  });

  it("searches by name, phone, email or tag after a pause in typing", async () => {
    const { calls } = setup(3);
    await screen.findAllByTestId("lead-row");
    await fireEvent.input(screen.getByTestId("search"), { target: { value: "+7 999" } });
    await waitFor(() => expect(callsOf(calls, "leads").some((c) => queryOf(c.args).search === "+7 999")).toBe(true));
    expect(callsOf(calls, "leads").filter((c) => queryOf(c.args).search != null)).toHaveLength(1);
  });

  it("says nothing was found and clears the filters", async () => {
    const app = new AppState();
    app.account = account();
    const calls = mockCore({ leads: (a) => leadsPage(queryOf(a), queryOf(a).search ? 0 : 2) });
    app.leadsFilter.search = "нет такого";
    renderView(LeadsView, app);
    const empty = await screen.findByTestId("empty");
    expect(empty.textContent).toContain("Ничего не найдено.");
    await fireEvent.click(within(empty).getByRole("button"));
    expect(await screen.findAllByTestId("lead-row")).toHaveLength(2);
    expect(queryOf(callsOf(calls, "leads").at(-1)!.args).search).toBeNull();
  });

  it("has an empty state for an account without leads", async () => {
    setup(0);
    expect((await screen.findByTestId("empty")).textContent).toContain("Сделок пока нет.");
  });

  it("shows an error with Retry", async () => {
    let fail = true;
    mockCore({
      leads: (a) => {
        if (fail) throw { code: "Local", message: "disk full" };
        return leadsPage(queryOf(a), 2);
      },
    });
    const app = new AppState();
    app.account = account();
    renderView(LeadsView, app);
    const alert = await screen.findByTestId("error");
    expect(alert.textContent).toContain("Внутренняя ошибка приложения.");
    fail = false;
    await fireEvent.click(within(alert).getByTestId("retry"));
    expect(await screen.findAllByTestId("lead-row")).toHaveLength(2);
  });

  it("shows the funnel's status as chips and asks for that status; × removes it", async () => {
    const app = new AppState();
    app.account = account();
    app.openLeads(MAIN, NEW_LEAD);
    const { calls } = setup(5, app);
    await screen.findAllByTestId("lead-row");
    expect(queryOf(callsOf(calls, "leads")[0].args)).toMatchObject({ pipeline_id: MAIN, status_id: NEW_LEAD });
    expect(screen.getByTestId("chip-pipeline").textContent).toContain("Воронка: Первичка");
    expect(screen.getByTestId("chip-status").textContent).toContain("Этап: Новый лид");
    await fireEvent.click(within(screen.getByTestId("chip-status")).getByRole("button"));
    await waitFor(() => expect(queryOf(callsOf(calls, "leads").at(-1)!.args)).toMatchObject({ pipeline_id: MAIN, status_id: null }));
  });

  it("a funnel click with the closed-date period asks for leads closed in that range and shows it as a chip", async () => {
    const app = new AppState();
    app.account = account();
    app.funnelFilter = { pipelineId: MAIN, period: "closed", from: "2026-05-01", to: "2026-05-31", users: [] };
    app.openLeads(MAIN, 142);
    const { calls } = setup(5, app);
    await screen.findAllByTestId("lead-row");
    // The same range as the funnel's row.
    const closed = app.funnelQuery!.closed;
    expect(closed).toEqual({ from: new Date(2026, 4, 1).getTime() / 1000, to: new Date(2026, 5, 1).getTime() / 1000 });
    expect(queryOf(callsOf(calls, "leads")[0].args)).toMatchObject({ pipeline_id: MAIN, status_id: 142, created: null, closed });
    expect(screen.getByTestId("chip-closed").textContent).toContain("Закрыты: 2026-05-01 – 2026-05-31");
    expect(screen.queryByTestId("chip-created")).toBeNull();
    await fireEvent.click(within(screen.getByTestId("chip-closed")).getByRole("button"));
    await waitFor(() => expect(queryOf(callsOf(calls, "leads").at(-1)!.args)).toMatchObject({ closed: null, status_id: 142 }));
    expect(screen.queryByTestId("chip-closed")).toBeNull();
  });

  it("arrow keys move the selection, Enter opens the panel, a phone is copied, Escape closes", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const { calls } = setup(50);
    await screen.findAllByTestId("lead-row");
    const table = screen.getByTestId("leads-table");
    table.focus();
    await fireEvent.keyDown(table, { key: "ArrowDown" });
    await fireEvent.keyDown(table, { key: "ArrowDown" });
    const selected = () => screen.getAllByTestId("lead-row").find((r) => r.getAttribute("aria-selected") === "true");
    expect(selected()?.dataset.leadId).toBe("3");
    expect(table.getAttribute("aria-activedescendant")).toBe("lead-row-2");
    await fireEvent.keyDown(table, { key: "Enter" });

    const panel = await screen.findByTestId("lead-panel");
    await waitFor(() => expect(panel.textContent).toContain("Мария Иванова"));
    expect(callsOf(calls, "lead").at(-1)?.args).toEqual({ id: 3 });
    for (const text of ["Лада Веста", "VIP", "Перезвонить в пятницу", "Переговоры", "ООО «Ромашка»", "maria@example.ru", "Здравствуйте, сообщение 11"]) {
      expect(panel.textContent).toContain(text);
    }
    expect(spaces(panel.textContent)).toContain("в прежнем этапе 1 дн.");

    await fireEvent.click(within(panel).getByTestId("copy-phone"));
    expect(writeText).toHaveBeenCalledWith("+7 999 123-45-67");
    await waitFor(() => expect(within(panel).getByTestId("copy-phone").textContent).toContain("Скопировано"));

    await fireEvent.click(within(panel).getByTestId("open-in-amocrm"));
    expect(callsOf(calls, "open_url").at(-1)?.args).toEqual({ url: "https://rentacar.amocrm.ru/leads/detail/3" });

    // With the panel open, it follows the selection.
    await fireEvent.keyDown(table, { key: "ArrowDown" });
    await waitFor(() => expect(callsOf(calls, "lead").at(-1)?.args).toEqual({ id: 4 }));

    await fireEvent.keyDown(window, { key: "Escape" });
    expect(screen.queryByTestId("lead-panel")).toBeNull();
  });

  it("Enter on a row whose page is still on its way opens it when it lands", async () => {
    let release: () => void = () => {};
    const app = new AppState();
    app.account = account();
    mockCore({
      leads: (a) => {
        const page = leadsPage(queryOf(a), 100_000);
        return queryOf(a).offset === 0 ? page : new Promise((r) => (release = () => r(page)));
      },
      lead: (a) => leadCard(a.id as number),
    });
    renderView(LeadsView, app);
    await screen.findAllByTestId("lead-row");
    const table = screen.getByTestId("leads-table");
    table.focus();
    await fireEvent.keyDown(table, { key: "End" });
    await fireEvent.keyDown(table, { key: "Enter" });
    expect(screen.queryByTestId("lead-panel")).toBeNull();
    release();
    const panel = await screen.findByTestId("lead-panel");
    expect(panel.dataset.leadId).toBe("100000");
  });

  it("opens a lead by a click on its row", async () => {
    const { calls } = setup(5);
    const rows = await screen.findAllByTestId("lead-row");
    await fireEvent.click(rows[4].firstElementChild!);
    await screen.findByTestId("lead-panel");
    expect(callsOf(calls, "lead").at(-1)?.args).toEqual({ id: 5 });
  });

  it("re-reads the shown page when the store changes (a moved lead shows without reload)", async () => {
    let status = "Новый лид";
    const app = new AppState();
    app.account = account();
    mockCore({ leads: (a) => ({ ...leadsPage(queryOf(a), 2), rows: leadsPage(queryOf(a), 2).rows.map((r) => ({ ...r, status_name: status })) }) });
    renderView(LeadsView, app);
    const rows = await screen.findAllByTestId("lead-row");
    expect(rows[0].textContent).toContain("Новый лид");
    status = "Переговоры";
    app.storeVersion++;
    await waitFor(() => expect(screen.getAllByTestId("lead-row")[0].textContent).toContain("Переговоры"));
  });

  it("a lead opened from the chats stays in the panel after the first page lands", async () => {
    let release: () => void = () => {};
    const app = new AppState();
    app.account = account();
    const calls = mockCore({
      leads: (a) => new Promise((r) => (release = () => r(leadsPage(queryOf(a), 5)))),
      lead: (a) => leadCard(a.id as number),
    });
    app.openLead(4242);
    renderView(LeadsView, app);
    const panel = await screen.findByTestId("lead-panel");
    expect(panel.dataset.leadId).toBe("4242");
    await waitFor(() => expect(callsOf(calls, "leads")).toHaveLength(1));
    release();
    expect(await screen.findAllByTestId("lead-row")).toHaveLength(5);
    await settle();
    expect(screen.getByTestId("lead-panel").dataset.leadId).toBe("4242");
    expect(callsOf(calls, "lead").map((c) => c.args.id)).not.toContain(1);

    // A real move of the selection still takes the panel along.
    const table = screen.getByTestId("leads-table");
    table.focus();
    await fireEvent.keyDown(table, { key: "ArrowDown" });
    await waitFor(() => expect(screen.getByTestId("lead-panel").dataset.leadId).toBe("2"));
  });
});
