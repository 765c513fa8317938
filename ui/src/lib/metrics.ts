// Figures read by the benchmark through WebDriver.
import { tick } from "svelte";

export interface AmosyncMetrics {
  /** `Date.now()` right after the funnel with data was painted the first time. */
  funnelPaintedAt: number | null;
  /** Milliseconds from a pipeline/filter change to the new funnel painted. */
  switches: number[];
}

declare global {
  interface Window {
    __amosyncMetrics?: AmosyncMetrics;
  }
}

export function metrics(): AmosyncMetrics {
  window.__amosyncMetrics ??= { funnelPaintedAt: null, switches: [] };
  return window.__amosyncMetrics;
}

const frame = (cb: () => void) =>
  typeof requestAnimationFrame === "function" ? requestAnimationFrame(() => cb()) : setTimeout(cb, 16);

/** Runs `cb` once the DOM is updated and the next frame has been painted. */
export function afterPaint(cb: () => void): void {
  void tick().then(() => frame(cb));
}
