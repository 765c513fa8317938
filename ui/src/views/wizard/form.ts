// The set-up form: its fields, validation and the request it becomes.
import type { SetupRequest, SiteKind } from "../../lib/bindings";
import type { Key } from "../../lib/i18n";

export const DEFAULT_REDIRECT_URI = "amosync://oauth/callback";

export interface SetupForm {
  site: SiteKind;
  subdomain: string;
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export type Field = keyof SetupForm;
export type Errors = Partial<Record<Field, Key>>;

export const newForm = (subdomain = ""): SetupForm => ({
  site: "amocrm",
  subdomain,
  baseUrl: "",
  clientId: "",
  clientSecret: "",
  redirectUri: DEFAULT_REDIRECT_URI,
});

const SUBDOMAIN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

/** "https://office.amocrm.ru/leads" or "office.kommo.com" → "office"; anything else as typed. */
export function normalizeSubdomain(input: string): string {
  const s = input.trim().replace(/^[a-z]+:\/\//i, "").split(/[/?#]/)[0];
  return /\.(amocrm\.(ru|com)|kommo\.com)$/i.test(s) ? s.split(".")[0] : s;
}

export function validate(f: SetupForm): Errors {
  const errors: Errors = {};
  const sub = f.subdomain.trim();
  if (f.site === "custom") {
    if (!/^https?:\/\/[^\s/]+/i.test(f.baseUrl.trim())) errors.baseUrl = "wizard.err.baseUrl";
    if (sub && !SUBDOMAIN.test(sub)) errors.subdomain = "wizard.err.subdomain";
  } else if (!sub) {
    errors.subdomain = "wizard.err.subdomainEmpty";
  } else if (!SUBDOMAIN.test(sub)) {
    errors.subdomain = "wizard.err.subdomain";
  }
  if (!f.clientId.trim()) errors.clientId = "wizard.err.required";
  if (!f.clientSecret.trim()) errors.clientSecret = "wizard.err.required";
  if (!f.redirectUri.trim()) errors.redirectUri = "wizard.err.required";
  return errors;
}

export function toRequest(f: SetupForm): SetupRequest {
  return {
    site: f.site,
    subdomain: f.subdomain.trim(),
    base_url: f.site === "custom" ? f.baseUrl.trim().replace(/\/+$/, "") : null,
    client_id: f.clientId.trim(),
    client_secret: f.clientSecret.trim(),
    redirect_uri: f.redirectUri.trim(),
  };
}

export const DOCS: Record<SiteKind, string> = {
  amocrm: "https://www.amocrm.ru/developers/content/oauth/step-by-step",
  kommo: "https://developers.kommo.com/docs/oauth-20",
  custom: "https://www.amocrm.ru/developers/content/oauth/step-by-step",
};
