// Rows of the current leads query, fetched in pages on demand around the
// viewport and kept in a small cache. A new query drops everything; a store
// change re-reads the wanted pages while the old rows stay on screen. Answers
// to an older query or an older refresh are ignored.
import * as api from "../../lib/api";
import type { AppError, LeadRow, LeadsQuery } from "../../lib/bindings";
import { pagesFor, PAGE_SIZE, type Range } from "./virtual";

export type QueryAt = (offset: number, limit: number) => LeadsQuery;

export class LeadsPages {
  /** Rows matching the query; `null` until the first page arrives. */
  total = $state<number | null>(null);
  error = $state<AppError | null>(null);
  /** Bumped whenever rows change: readers of `row()` depend on it. */
  version = $state(0);

  // Plain collections on purpose: `version` is the single reactive signal,
  // bumped once per landed page (not once per cache touch).
  /* eslint-disable svelte/prefer-svelte-reactivity */
  private fresh = new Map<number, LeadRow[]>();
  private stale = new Map<number, LeadRow[]>();
  private inflight = new Set<number>();
  /* eslint-enable svelte/prefer-svelte-reactivity */
  private generation = 0;
  private query: QueryAt | null = null;
  private wanted: Range = { first: 0, last: 0 };

  constructor(
    readonly pageSize = PAGE_SIZE,
    readonly maxPages = 8,
  ) {}

  /** A new query: forget every row. */
  reset(query: QueryAt): void {
    this.generation++;
    this.query = query;
    this.fresh.clear();
    this.stale.clear();
    this.inflight.clear();
    this.total = null;
    this.error = null;
    this.version++;
  }

  /** The store changed: re-read what is shown, showing the old rows meanwhile. */
  refresh(): void {
    this.generation++;
    for (const [p, rows] of this.fresh) this.stale.set(p, rows);
    this.fresh.clear();
    this.inflight.clear();
    this.error = null;
    this.version++;
  }

  row(index: number): LeadRow | undefined {
    void this.version;
    const p = Math.floor(index / this.pageSize);
    return (this.fresh.get(p) ?? this.stale.get(p))?.[index - p * this.pageSize];
  }

  /** Fetches the missing pages for rows `range` (the first page, which tells the total, for an empty range). */
  ensure(range: Range): void {
    this.wanted = range;
    const pages = range.last <= range.first ? [0] : pagesFor(range, this.pageSize);
    for (const p of pages) {
      const rows = this.fresh.get(p);
      if (rows) {
        // Most recently wanted last: eviction takes the oldest first.
        this.fresh.delete(p);
        this.fresh.set(p, rows);
      } else if (!this.inflight.has(p)) {
        void this.fetch(p);
      }
    }
  }

  retry(): void {
    this.error = null;
    this.inflight.clear();
    this.ensure(this.wanted);
  }

  private async fetch(page: number): Promise<void> {
    const query = this.query;
    if (!query) return;
    const generation = this.generation;
    this.inflight.add(page);
    try {
      const result = await api.leads(query(page * this.pageSize, this.pageSize));
      if (generation !== this.generation) return;
      this.fresh.set(page, result.rows);
      this.stale.delete(page);
      this.evict();
      this.total = result.total;
      this.error = null;
      this.version++;
    } catch (e) {
      if (generation === this.generation) this.error = e as AppError;
    } finally {
      if (generation === this.generation) this.inflight.delete(page);
    }
  }

  private evict(): void {
    while (this.fresh.size > this.maxPages) {
      const oldest = this.fresh.keys().next().value as number;
      this.fresh.delete(oldest);
    }
    while (this.stale.size > this.maxPages) {
      this.stale.delete(this.stale.keys().next().value as number);
    }
  }
}
