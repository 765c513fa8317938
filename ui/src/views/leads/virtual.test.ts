import { describe, expect, it } from "vitest";
import type { LeadsPage, LeadsQuery } from "../../lib/bindings";
import { leadsPage } from "../../test/fixtures";
import { callsOf, mockCore, settle } from "../../test/harness";
import { LeadsPages } from "./pages.svelte";
import { OVERSCAN, pagesFor, ROW_HEIGHT, scrollToShow, visibleRange } from "./virtual";

const base = (offset: number, limit: number): LeadsQuery => ({
  search: null, pipeline_id: null, status_id: null, responsible_user_ids: [], created: null, closed: null,
  include_deleted: false, order: "updated_desc", offset, limit,
});

describe("virtual window", () => {
  it("renders the visible rows plus overscan, clamped to the total", () => {
    expect(visibleRange(0, 600, 100_000)).toEqual({ first: 0, last: Math.ceil(600 / ROW_HEIGHT) + OVERSCAN });
    const r = visibleRange(50_000 * ROW_HEIGHT, 600, 100_000);
    expect(r.first).toBe(50_000 - OVERSCAN);
    expect(r.last - r.first).toBeLessThan(40);
    expect(visibleRange(10 ** 9, 600, 100)).toEqual({ first: 100, last: 100 });
    expect(visibleRange(0, 600, 0)).toEqual({ first: 0, last: 0 });
  });

  it("needs the pages covering the window", () => {
    expect(pagesFor({ first: 190, last: 230 })).toEqual([0, 1]);
    expect(pagesFor({ first: 12_337, last: 12_370 })).toEqual([61]);
    expect(pagesFor({ first: 5, last: 5 })).toEqual([]);
  });

  it("scrolls just enough to show a row", () => {
    expect(scrollToShow(10, 0, 600)).toBe(0);
    expect(scrollToShow(20, 0, 600)).toBe(21 * ROW_HEIGHT - 600);
    expect(scrollToShow(3, 10 * ROW_HEIGHT, 600)).toBe(3 * ROW_HEIGHT);
  });
});

describe("leads pages", () => {
  it("fetches each page once and caches a few", async () => {
    const calls = mockCore({ leads: (a) => leadsPage(a.query as LeadsQuery, 100_000) });
    const pages = new LeadsPages(200, 3);
    pages.reset(base);
    pages.ensure({ first: 0, last: 0 });
    pages.ensure({ first: 0, last: 0 });
    await settle();
    expect(pages.total).toBe(100_000);
    expect(pages.row(0)?.id).toBe(1);
    for (const p of [1, 2, 3, 4]) {
      pages.ensure({ first: p * 200, last: p * 200 + 10 });
      await settle();
    }
    expect(callsOf(calls, "leads").map((c) => (c.args.query as LeadsQuery).offset)).toEqual([0, 200, 400, 600, 800]);
    expect(pages.row(0)).toBeUndefined(); // evicted
    expect(pages.row(800)?.id).toBe(801);
  });

  it("ignores the answer to an older query", async () => {
    const answers: ((p: LeadsPage) => void)[] = [];
    mockCore({ leads: () => new Promise<LeadsPage>((r) => answers.push(r)) });
    const pages = new LeadsPages();
    pages.reset(base);
    pages.ensure({ first: 0, last: 0 });
    await settle();
    pages.reset((o, l) => ({ ...base(o, l), search: "new" }));
    pages.ensure({ first: 0, last: 0 });
    await settle();
    answers[1](leadsPage(base(0, 200), 2));
    await settle();
    answers[0](leadsPage(base(0, 200), 50_000));
    await settle();
    expect(pages.total).toBe(2);
  });

  it("keeps showing the old rows while a refresh is on its way", async () => {
    let name = "old";
    let release: () => void = () => {};
    mockCore({
      leads: (a) => {
        const page = leadsPage(a.query as LeadsQuery, 2);
        page.rows = page.rows.map((r) => ({ ...r, name }));
        return name === "old" ? page : new Promise((r) => (release = () => r(page)));
      },
    });
    const pages = new LeadsPages();
    pages.reset(base);
    pages.ensure({ first: 0, last: 0 });
    await settle();
    name = "new";
    pages.refresh();
    pages.ensure({ first: 0, last: 2 });
    await settle();
    expect(pages.row(0)?.name).toBe("old");
    release();
    await settle();
    expect(pages.row(0)?.name).toBe("new");
  });
});
