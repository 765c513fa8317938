// The one read a view makes on opening (sync page, settings): its error for
// ErrorState with Retry, and the view marked ready once the data is in.
import type { AppState } from "./app.svelte";
import type { AppError } from "./bindings";

export class ViewLoad {
  error = $state<AppError | null>(null);

  constructor(
    private readonly app: AppState,
    private readonly read: () => Promise<unknown>,
  ) {}

  load = async (): Promise<void> => {
    try {
      await this.read();
      this.error = null;
      this.app.markReady();
    } catch (e) {
      this.error = e as AppError;
    }
  };
}
