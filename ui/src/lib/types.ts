// Shapes the Tauri shell sends over IPC (src-tauri/src/overview.rs).

export interface StatusSummary {
  id: number;
  name: string;
  color: string;
  sort: number;
  leads: number;
  price_sum: number;
}

export interface PipelineSummary {
  id: number;
  name: string;
  is_main: boolean;
  statuses: StatusSummary[];
}

export interface Overview {
  source: "demo" | "account";
  account_name: string;
  subdomain: string;
  currency: string;
  pipelines: PipelineSummary[];
}

/** An error from the core: `code` is stable for branching, `message` is for people. */
export interface AppError {
  code: string;
  message: string;
}
