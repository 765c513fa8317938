import { fireEvent, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { AppState } from "../lib/app.svelte";
import { channel } from "../lib/channels";
import { renderView } from "../test/harness";
import CopyButton from "./CopyButton.svelte";
import Count from "./Count.svelte";
import ErrorState from "./ErrorState.svelte";

describe("Count", () => {
  it("keeps the plain integer as its text while grouping digits for the eye", async () => {
    const app = new AppState();
    renderView(Count, app, { n: 100000, testid: "c" });
    const el = screen.getByTestId("c");
    expect(el.textContent).toBe("100000");
    expect([...el.children].map((c) => c.textContent)).toEqual(["100", "000"]);
    expect(el.dataset.sep).toBe("space");
    app.lang = "en";
    await waitFor(() => expect(el.dataset.sep).toBe("comma"));
  });
});

describe("CopyButton", () => {
  it("says when the clipboard refused", async () => {
    Object.defineProperty(navigator, "clipboard", {
      value: { writeText: vi.fn().mockRejectedValue(new Error("denied")) },
      configurable: true,
    });
    renderView(CopyButton, new AppState(), { text: "x", testid: "copy" });
    await fireEvent.click(screen.getByTestId("copy"));
    await waitFor(() => expect(screen.getByTestId("copy").textContent?.trim()).toBe("Не удалось скопировать"));
  });
});

describe("ErrorState", () => {
  it("offers Reconnect for a revoked authorisation, next to Retry", async () => {
    const app = new AppState();
    const onretry = vi.fn();
    renderView(ErrorState, app, { error: { code: "AuthRevoked", message: "refresh token revoked" }, onretry });
    expect(screen.getByTestId("error").textContent).toContain("Доступ к amoCRM отозван");
    await fireEvent.click(screen.getByTestId("retry"));
    expect(onretry).toHaveBeenCalledOnce();
    await fireEvent.click(screen.getByTestId("error-setup"));
    expect(app.view).toBe("wizard");
  });
});

describe("channels", () => {
  it("names the usual messengers and keeps unknown ones readable", () => {
    expect(channel("waba").label).toBe("WhatsApp");
    expect(channel("telegram").label).toBe("Telegram");
    expect(channel("instagram_business").label).toBe("Instagram");
    expect(channel("vk").label).toBe("VK");
    expect(channel("avito").label).toBe("Avito");
    expect(channel("viber").label).toBe("Viber");
    expect(channel("zoom").label).toBe("Zoom");
  });
});
