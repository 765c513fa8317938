import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import App from "./App.svelte";
import type { Overview } from "./lib/types";

const overview: Overview = {
  source: "demo",
  account_name: "Прокат авто",
  subdomain: "rentacar",
  currency: "GEL",
  pipelines: [
    {
      id: 8580102,
      name: "Первичка",
      is_main: true,
      statuses: [
        { id: 69641338, name: "Новый лид", color: "#ff8f92", sort: 40, leads: 12, price_sum: 3400 },
        { id: 142, name: "Успешно реализовано", color: "#CCFF66", sort: 10000, leads: 5, price_sum: 9100 },
      ],
    },
    { id: 9000001, name: "Корпоративные клиенты", is_main: false, statuses: [] },
  ],
};

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("App", () => {
  it("shows the main pipeline's statuses with counts and Cyrillic names intact", async () => {
    mockIPC((cmd) => (cmd === "overview" ? overview : null));
    render(App);
    const table = await screen.findByTestId("statuses");
    expect(table.textContent).toContain("Новый лид");
    expect(table.textContent).toContain("Успешно реализовано");
    expect(screen.getByTestId("total-leads").textContent).toBe("17");
    expect(screen.getByTestId("account").textContent).toContain("Демо");
  });

  it("switches language to English", async () => {
    mockIPC(() => overview);
    render(App);
    await screen.findByTestId("statuses");
    await fireEvent.change(screen.getByTestId("lang"), { target: { value: "en" } });
    expect(screen.getByText("Leads")).toBeTruthy();
    expect(screen.getByTestId("account").textContent).toContain("Demo");
  });

  it("shows the error code and message and offers a retry", async () => {
    mockIPC(() => {
      throw { code: "DemoUnavailable", message: "The demo emulator did not start; restart AmoSync." };
    });
    render(App);
    const alert = await screen.findByTestId("error");
    expect(alert.textContent).toContain("DemoUnavailable");
    expect(alert.textContent).toContain("restart AmoSync");
  });

  it("shows an empty state for a pipeline without statuses", async () => {
    mockIPC(() => overview);
    render(App);
    await screen.findByTestId("statuses");
    await fireEvent.change(screen.getByTestId("pipeline"), { target: { value: "9000001" } });
    expect(await screen.findByText("В этой воронке пока нет статусов.")).toBeTruthy();
  });
});
