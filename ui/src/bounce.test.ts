// @vitest-environment jsdom
// The bounce page (docs/oauth/): amoCRM redirects there when an integration
// needs an https redirect URI; it must forward the query to the app's deep
// link unchanged and show the code for pasting.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';

type Bounce = (search: string, doc: Document, location: { href: string }) => string | null;

// Vitest runs with ui/ as the working directory.
const dir = resolve(process.cwd(), '../docs/oauth') + '/';
const html = readFileSync(dir + 'index.html', 'utf8');
const script = readFileSync(dir + 'bounce.js', 'utf8');

function load(): Bounce {
  document.documentElement.innerHTML = html.replace(/<script[\s\S]*?<\/script>/g, '');
  new Function(script)();
  return (globalThis as unknown as { amosyncBounce: Bounce }).amosyncBounce;
}

describe('bounce page', () => {
  beforeEach(() => {
    document.documentElement.innerHTML = '';
  });

  it('forwards the whole query to amosync://oauth/callback and shows the code', () => {
    const bounce = load();
    const location = { href: 'https://example.org/oauth/' };
    const search = '?code=def502&state=st%2Bx&referer=office.amocrm.ru&client_id=abc';
    const link = bounce(search, document, location);
    expect(link).toBe('amosync://oauth/callback?code=def502&state=st%2Bx&referer=office.amocrm.ru&client_id=abc');
    expect(location.href).toBe(link);
    expect(document.getElementById('code')?.textContent).toBe('def502');
    expect(document.getElementById('open')?.getAttribute('href')).toBe(link);
    expect(document.getElementById('manual')?.classList.contains('hidden')).toBe(false);
  });

  it('says access was denied and does not open the app', () => {
    const bounce = load();
    const location = { href: 'unchanged' };
    expect(bounce('?error=access_denied&state=x', document, location)).toBeNull();
    expect(location.href).toBe('unchanged');
    expect(document.getElementById('denied')?.classList.contains('hidden')).toBe(false);
  });

  it('explains an empty visit', () => {
    const bounce = load();
    const location = { href: 'unchanged' };
    expect(bounce('', document, location)).toBeNull();
    expect(document.getElementById('empty')?.classList.contains('hidden')).toBe(false);
  });
});
