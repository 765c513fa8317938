// The IPC mocked the way Tauri's own helpers do it, with every call recorded,
// and views rendered with a fresh AppState in their context.
import { render } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { Component } from "svelte";
import { AppState, appContext } from "../lib/app.svelte";

export type Handler = (args: Record<string, unknown>) => unknown;
export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

/** Mocks the core: `handlers[cmd](args)` answers (throw `{code, message}` for an error); unknown commands answer null. */
export function mockCore(handlers: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      const h = handlers[cmd];
      return h ? h(args) : null;
    },
    { shouldMockEvents: true },
  );
  return calls;
}

export const callsOf = (calls: Call[], cmd: string) => calls.filter((c) => c.cmd === cmd);

/** Answers after `ms` milliseconds. */
export const later =
  <T>(value: T, ms = 0) =>
  () =>
    new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

export function renderView<Props extends Record<string, unknown>>(
  view: Component<Props>,
  app = new AppState(),
  props: Props = {} as Props,
) {
  // The props were checked against the component above; mount takes them as a plain record.
  const result = render(view as unknown as Component<Record<string, unknown>>, { props, context: appContext(app) });
  return { app, ...result };
}

/** Lets pending promises (IPC answers, event subscriptions) settle. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

export async function push(event: string, payload: unknown) {
  await emit(event, payload);
  await settle();
}

export function resetMocks() {
  clearMocks();
  delete window.__amosyncMetrics;
}

/** "1 234 ₽" with whatever space Intl chose → "1 234 ₽". */
export const spaces = (s: string | null | undefined) => (s ?? "").replace(/[\u00a0\u202f]/g, " ").trim();

/**
 * Makes every event subscription take `ms` to be registered, like the real
 * IPC (the mock registers at once): pushes sent before then are lost.
 */
export function delayListen(ms: number) {
  type Invoke = (cmd: string, ...rest: unknown[]) => Promise<unknown>;
  const internals = (window as unknown as { __TAURI_INTERNALS__: { invoke: Invoke } }).__TAURI_INTERNALS__;
  const invoke = internals.invoke;
  internals.invoke = (cmd, ...rest) =>
    cmd === "plugin:event|listen"
      ? new Promise((resolve) => setTimeout(resolve, ms)).then(() => invoke(cmd, ...rest))
      : invoke(cmd, ...rest);
}
