// A state both pushed (by the core's events, or by the user's own change) and
// fetched: an answer must never overwrite a value written after its request
// started, nor the answer of a request started later. The core sends no
// duplicate push, so a stale answer would otherwise stay on screen.
export class Freshness {
  #next = 0;
  #written = 0;

  /** Marks a push: newer than every request already under way. */
  pushed(): void {
    this.#written = ++this.#next;
  }

  /**
   * Call when a request starts; the returned check, called once its answer is
   * in, says whether the answer may be applied (and then counts it as written).
   */
  request(): () => boolean {
    const ticket = ++this.#next;
    return () => {
      if (ticket < this.#written) return false;
      this.#written = ticket;
      return true;
    };
  }
}
