import type { Theme } from "./types";

/** The palette to use: "system" follows the OS's light/dark setting. */
export function resolveTheme(theme: Theme, systemPrefersDark: boolean): "light" | "dark" {
  if (theme === "system") return systemPrefersDark ? "dark" : "light";
  return theme;
}

const DARK_QUERY = "(prefers-color-scheme: dark)";

/** Whether the OS prefers dark now (false where the browser cannot tell). */
export function systemPrefersDark(): boolean {
  return typeof window.matchMedia === "function" && window.matchMedia(DARK_QUERY).matches;
}

/** Calls `changed` whenever the OS switches between light and dark; returns the unsubscribe. */
export function onSystemThemeChange(changed: () => void): () => void {
  if (typeof window.matchMedia !== "function") return () => {};
  const query = window.matchMedia(DARK_QUERY);
  query.addEventListener("change", changed);
  return () => query.removeEventListener("change", changed);
}
