import { fireEvent, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { AppState } from "../../lib/app.svelte";
import type { ChatsQuery, ChatsView as Chats } from "../../lib/bindings";
import { chatsView } from "../../test/fixtures";
import { callsOf, mockCore, renderView, spaces } from "../../test/harness";
import ChatsView from "./ChatsView.svelte";

const queryOf = (args: Record<string, unknown>) => args.query as ChatsQuery;

function filtered(view: Chats, q: ChatsQuery): Chats {
  const talks = view.talks.filter((t) => (!q.channel || t.channel === q.channel) && (!q.state || t.state === q.state));
  // Like the core: `channels` always counts every channel, whatever the filter.
  return { ...view, talks, total: talks.length };
}

describe("Chats", () => {
  it("lists talks by last activity with channel, lead, contact, state and waiting time", async () => {
    const view = chatsView();
    const calls = mockCore({ chats: () => view });
    renderView(ChatsView);
    const rows = await screen.findAllByTestId("talk-row");
    // Instagram's last message is the newest.
    expect(rows.map((r) => r.dataset.channel)).toEqual(["instagram", "telegram", "whatsapp"]);
    const tg = rows[1];
    expect(tg.textContent).toContain("Сделка чата 1");
    expect(tg.textContent).toContain("Контакт 1");
    expect(tg.textContent).toContain("Telegram");
    expect(within(tg).getByTestId("talk-state").textContent).toBe("не прочитан");
    expect(spaces(within(tg).getByTestId("waiting").textContent)).toBe("ждёт 12 мин");
    expect(rows[0].textContent).toContain("Без сделки");
    expect(within(rows[2]).queryByTestId("waiting")).toBeNull();
    expect(queryOf(callsOf(calls, "chats")[0].args)).toEqual({ channel: null, state: null, limit: 200 });
    expect(screen.getByTestId("chats-total-all").textContent).toContain("3");
    expect(screen.getByTestId("chats-total-unread").textContent).toContain("1");
    expect(screen.getAllByTestId("channel-chip").map((c) => c.dataset.channel)).toEqual(["telegram", "whatsapp", "instagram"]);
  });

  it("filters by channel with its chip, keeping the other chips", async () => {
    const view = chatsView();
    const calls = mockCore({ chats: (a) => filtered(view, queryOf(a)) });
    renderView(ChatsView);
    await screen.findAllByTestId("talk-row");
    const telegram = screen.getAllByTestId("channel-chip").find((c) => c.dataset.channel === "telegram")!;
    await fireEvent.click(telegram);
    await waitFor(() => expect(screen.getAllByTestId("talk-row")).toHaveLength(1));
    expect(queryOf(callsOf(calls, "chats").at(-1)!.args).channel).toBe("telegram");
    expect(telegram.getAttribute("aria-pressed")).toBe("true");
    expect(screen.getAllByTestId("channel-chip")).toHaveLength(3);
    await fireEvent.click(screen.getByTestId("channel-all"));
    await waitFor(() => expect(screen.getAllByTestId("talk-row")).toHaveLength(3));
  });

  it("keeps the channel counts live while a channel is chosen", async () => {
    let view = chatsView();
    const app = new AppState();
    mockCore({ chats: (a) => filtered(view, queryOf(a)) });
    renderView(ChatsView, app);
    await screen.findAllByTestId("talk-row");
    await fireEvent.click(screen.getAllByTestId("channel-chip").find((c) => c.dataset.channel === "telegram")!);
    await waitFor(() => expect(screen.getAllByTestId("talk-row")).toHaveLength(1));
    const count = (origin: string) =>
      within(screen.getAllByTestId("channel-chip").find((c) => c.dataset.channel === origin)!).getByTestId("channel-count").textContent;
    // A new WhatsApp talk arrives while Telegram is chosen.
    view = { ...view, channels: view.channels.map((c) => (c.origin === "whatsapp" ? { ...c, talks: 7 } : c)) };
    app.storeVersion++;
    await waitFor(() => expect(count("whatsapp")).toBe("7"));
    expect(count("telegram")).toBe("1");
  });

  it("filters by state with the totals", async () => {
    const view = chatsView();
    const calls = mockCore({ chats: (a) => filtered(view, queryOf(a)) });
    renderView(ChatsView);
    await screen.findAllByTestId("talk-row");
    await fireEvent.click(screen.getByTestId("chats-total-missed"));
    await waitFor(() => expect(screen.getAllByTestId("talk-row")).toHaveLength(1));
    expect(queryOf(callsOf(calls, "chats").at(-1)!.args).state).toBe("missed");
  });

  it("opens the talk's lead with Enter after moving with the arrows", async () => {
    mockCore({ chats: () => chatsView() });
    const app = new AppState();
    renderView(ChatsView, app);
    await screen.findAllByTestId("talk-row");
    const list = screen.getByTestId("chats-list");
    list.focus();
    await fireEvent.keyDown(list, { key: "ArrowDown" });
    expect(list.getAttribute("aria-activedescendant")).toBe("talk-1");
    await fireEvent.keyDown(list, { key: "Enter" });
    expect(app.view).toBe("leads");
    expect(app.openLeadId).toBe(101);
  });

  it("has an empty state", async () => {
    mockCore({ chats: () => ({ talks: [], channels: [], total: 0, unread: 0, in_work: 0, missed: 0 }) });
    renderView(ChatsView);
    expect((await screen.findByTestId("empty")).textContent).toContain("Чатов пока нет.");
  });

  it("shows an error with Retry", async () => {
    let fail = true;
    mockCore({
      chats: () => {
        if (fail) throw { code: "StoreUnavailable", message: "locked" };
        return chatsView();
      },
    });
    renderView(ChatsView);
    const alert = await screen.findByTestId("error");
    expect(alert.dataset.code).toBe("StoreUnavailable");
    fail = false;
    await fireEvent.click(within(alert).getByTestId("retry"));
    expect(await screen.findAllByTestId("talk-row")).toHaveLength(3);
  });
});
