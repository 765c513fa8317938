// Every test starts from a clean DOM, no IPC mock and no metrics.
import { cleanup } from "@testing-library/svelte";
import { afterEach, vi } from "vitest";
import { resetMocks } from "./harness";

afterEach(() => {
  cleanup();
  resetMocks();
  vi.restoreAllMocks();
  document.documentElement.removeAttribute("data-theme");
});
