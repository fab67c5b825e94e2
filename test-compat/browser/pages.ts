import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import type { Probe } from '../clients';

/**
 * What the browser suite needs besides rfs: Chromium driven by playwright-core, and the web
 * origins its pages come from (tiny node:http servers on 127.0.0.1, each port its own origin,
 * so every request a page makes to rfs is cross-origin).
 */

/** Headless and quiet: no first-run work, no calls home (the machine has no outside network). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(probe: Probe): Promise<Browser> {
  return chromium.launch({ executablePath: probe.bin, args: CHROMIUM_ARGS });
}

/** An origin serving HTML pages set by the test, by path (the query is ignored). */
export interface PageOrigin {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Serves `html` at `path` from now on. */
  set(path: string, html: string): void;
  close(): Promise<void>;
}

export async function servePages(title: string): Promise<PageOrigin> {
  const pages = new Map<string, string>([['/', page(title, '')]]);
  const server = http.createServer((req, res) => {
    const html = pages.get(new URL(req.url ?? '/', 'http://x').pathname);
    res.writeHead(html === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? page('not found', ''));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set: (path, html) => void pages.set(path, html),
    async close() {
      server.closeAllConnections(); // the browser's keep-alive connections would hold close() open
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A whole HTML document. */
export function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;
}

/**
 * A browser upload form as S3's POST docs show it: the fields as hidden inputs in order, then
 * the file input (S3 ignores anything after the file), then a submit button without a name
 * (so it adds no field the policy would have to cover).
 */
export function uploadForm(action: string, fields: [string, string][]): string {
  const hidden = fields.map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`);
  return `<form method="POST" enctype="multipart/form-data" action="${escapeHtml(action)}">${hidden.join('')}<input type="file" name="file"><button type="submit">Upload</button></form>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
