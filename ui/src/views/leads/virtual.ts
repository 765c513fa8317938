// The arithmetic of the virtualised table: fixed row height, a window of
// visible rows plus overscan, and the pages of rows that window needs.
export const ROW_HEIGHT = 36;
export const HEADER_HEIGHT = 34;
export const OVERSCAN = 8;
export const PAGE_SIZE = 200;

export interface Range {
  /** First row index rendered. */
  first: number;
  /** One past the last row index rendered. */
  last: number;
}

export function visibleRange(scrollTop: number, viewport: number, total: number, overscan = OVERSCAN): Range {
  if (total <= 0) return { first: 0, last: 0 };
  const top = Math.max(0, scrollTop);
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - overscan);
  const last = Math.min(total, Math.ceil((top + Math.max(viewport, ROW_HEIGHT)) / ROW_HEIGHT) + overscan);
  return { first: Math.min(first, last), last };
}

/** The pages (of `pageSize` rows) covering rows `first..last`. */
export function pagesFor({ first, last }: Range, pageSize = PAGE_SIZE): number[] {
  if (last <= first) return [];
  const pages: number[] = [];
  for (let p = Math.floor(first / pageSize); p <= Math.floor((last - 1) / pageSize); p++) pages.push(p);
  return pages;
}

/** The scroll position that brings row `index` into view (unchanged when it already is). */
export function scrollToShow(index: number, scrollTop: number, viewport: number): number {
  const top = index * ROW_HEIGHT;
  if (top < scrollTop) return top;
  if (top + ROW_HEIGHT > scrollTop + viewport) return top + ROW_HEIGHT - viewport;
  return scrollTop;
}
