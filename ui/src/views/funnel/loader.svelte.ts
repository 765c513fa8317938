// Loads the funnel in two passes: counts and money first (painted at once),
// then the median time in status (slower), so a switch paints fast. Answers to
// an older query are dropped.
import * as api from "../../lib/api";
import type { AppError, Funnel, FunnelQuery } from "../../lib/bindings";
import { afterPaint } from "../../lib/metrics";

export type Painted = (info: { switchMs: number | null }) => void;

export class FunnelLoader {
  funnel = $state<Funnel | null>(null);
  error = $state<AppError | null>(null);
  loading = $state(false);
  /** The counts are shown; the medians are still being computed. */
  mediansPending = $state(false);
  private seq = 0;
  private key: string | null = null;
  private lastQuery: FunnelQuery | null = null;

  async load(query: FunnelQuery, painted?: Painted): Promise<void> {
    const key = JSON.stringify(query);
    const refresh = key === this.key;
    const isSwitch = !refresh && this.key !== null && this.funnel !== null;
    this.key = key;
    this.lastQuery = query;
    const seq = ++this.seq;
    const started = performance.now();
    this.loading = true;
    try {
      const fast = await api.funnel({ ...query, with_time_in_status: false });
      if (seq !== this.seq) return;
      const previous = this.funnel;
      this.funnel = refresh && previous ? keepMedians(fast, previous) : fast;
      this.error = null;
      this.loading = false;
      this.mediansPending = !(refresh && previous);
      afterPaint(() => painted?.({ switchMs: isSwitch ? performance.now() - started : null }));
      const full = await api.funnel({ ...query, with_time_in_status: true });
      if (seq !== this.seq) return;
      this.funnel = full;
    } catch (e) {
      if (seq === this.seq) this.error = e as AppError;
    } finally {
      if (seq === this.seq) {
        this.loading = false;
        this.mediansPending = false;
      }
    }
  }

  retry(painted?: Painted): void {
    if (this.lastQuery) void this.load(this.lastQuery, painted);
  }
}

/** A refresh of the same query keeps the medians shown until the new ones arrive. */
function keepMedians(next: Funnel, previous: Funnel): Funnel {
  const medians = new Map(previous.statuses.map((s) => [s.status_id, s.median_seconds_in_status]));
  return {
    ...next,
    statuses: next.statuses.map((s) => ({ ...s, median_seconds_in_status: medians.get(s.status_id) ?? null })),
  };
}
