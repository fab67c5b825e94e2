import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketCorsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Browser, Page } from 'playwright-core';
import { type TestServer, closeSuite, objectBytes, openSuite, pseudoRandom, s3Error } from '../harness';
import { clientGate, expectBucketEmpty, probeCommand } from '../clients';
import { signPostPolicy } from '../http/signing';
import { type PageOrigin, launchChromium, page as htmlPage, servePages, uploadForm } from './pages';

/**
 * rfs as a web app uses it, in a real browser (headless Chromium driven by playwright-core):
 * pages on other origins fetch objects through presigned URLs under the bucket's CORS rule,
 * open a presigned URL in the tab, and upload a file with an HTML POST form. One browser for
 * the suite; the page origins are node:http servers on 127.0.0.1.
 */
const chromiumProbe = probeCommand('chromium');
const describeBrowser = clientGate('browser', chromiumProbe, 'apt-get install chromium');

const EXPIRES = { expiresIn: 300 };
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** What a page's fetch saw: the status, the response headers the page may read, the body. */
interface Seen {
  status: number;
  headers: Record<string, string | null>;
  body: Buffer;
}

/** `fetch(url, { method, body })` run inside the page, as the page's own script would. */
async function pageFetch(page: Page, url: string, method: string, body?: Buffer): Promise<Seen> {
  const names = ['etag', 'content-length', 'content-type', 'x-amz-version-id', 'x-amz-request-id'];
  const seen = await page.evaluate(
    async ({ url, method, body, names }) => {
      // Runs in Chromium: bytes cross the boundary as base64.
      const sent = body === undefined ? undefined : Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
      const res = await fetch(url, { method, body: sent });
      let binary = '';
      for (const b of new Uint8Array(await res.arrayBuffer())) binary += String.fromCharCode(b);
      return { status: res.status, headers: Object.fromEntries(names.map((n) => [n, res.headers.get(n)])), body: btoa(binary) };
    },
    { url, method, body: body?.toString('base64'), names },
  );
  return { ...seen, body: Buffer.from(seen.body, 'base64') };
}

/** How a fetch in the page failed: the error's name and message ('' when it did not fail). */
function pageFetchFailure(page: Page, url: string, method: string): Promise<string> {
  return page.evaluate(
    ({ url, method }) =>
      fetch(url, { method, body: method === 'PUT' ? 'refused' : undefined }).then(
        () => '',
        (e: Error) => `${e.name}: ${e.message}`,
      ),
    { url, method },
  );
}

describeBrowser(`Chromium (${chromiumProbe.version ?? 'not installed'})`, () => {
  const bucket = 'browser';
  const versioned = 'browser-versioned';
  let server: TestServer;
  let s3: S3Client;
  let browser: Browser;
  let page: Page;
  /** The web app's origin, allowed by the CORS rule. */
  let app: PageOrigin;
  /** Another site, in no rule. */
  let stranger: PageOrigin;

  beforeAll(async () => {
    // One at a time, so that afterAll closes whatever started if a later one fails.
    ({ server, s3 } = await openSuite(bucket));
    app = await servePages('app');
    stranger = await servePages('stranger');
    browser = await launchChromium(chromiumProbe);
    await s3.send(new CreateBucketCommand({ Bucket: versioned }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
    for (const b of [bucket, versioned]) {
      await s3.send(
        new PutBucketCorsCommand({
          Bucket: b,
          CORSConfiguration: {
            CORSRules: [
              {
                AllowedOrigins: [app.origin],
                AllowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'],
                AllowedHeaders: ['*'],
                ExposeHeaders: ['ETag', 'x-amz-version-id'],
              },
            ],
          },
        }),
      );
    }
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([app?.close(), stranger?.close(), closeSuite({ server, s3 })]);
  });

  /** What HeadObject through the SDK fails with (an object the test expects gone). */
  const headError = (key: string) => s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));

  test('Fetch_presigned_PUT_GET_HEAD_DELETE: bytes round-trip, ETag exposed, the SDK sees the same state', async () => {
    await page.goto(`${app.origin}/`);
    const key = 'fetch/a file+ü.bin';
    const data = pseudoRandom(300_000, 17); // above the inline limit: stored as chunks
    const etag = `"${md5(data)}"`;

    const put = await pageFetch(page, await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key }), EXPIRES), 'PUT', data);
    expect({ status: put.status, etag: put.headers.etag }).toEqual({ status: 200, etag });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect({ length: head.ContentLength, etag: head.ETag }).toEqual({ length: data.length, etag });

    const get = await pageFetch(page, await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), EXPIRES), 'GET');
    expect({ status: get.status, etag: get.headers.etag, length: get.headers['content-length'] }).toEqual({ status: 200, etag, length: String(data.length) });
    expect(md5(get.body)).toBe(md5(data));
    // A header the rule does not expose stays hidden from the page, though rfs sends it.
    expect(get.headers['x-amz-request-id']).toBeNull();

    const h = await pageFetch(page, await getSignedUrl(s3, new HeadObjectCommand({ Bucket: bucket, Key: key }), EXPIRES), 'HEAD');
    expect({ status: h.status, etag: h.headers.etag, length: h.headers['content-length'], body: h.body.length }).toEqual({
      status: 200, etag, length: String(data.length), body: 0,
    });

    const del = await pageFetch(page, await getSignedUrl(s3, new DeleteObjectCommand({ Bucket: bucket, Key: key }), EXPIRES), 'DELETE');
    expect(del.status).toBe(204);
    expect(await headError(key)).toMatchObject({ status: 404 });
    // Errors carry the CORS headers too, so the page can read S3's answer.
    const gone = await pageFetch(page, await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), EXPIRES), 'GET');
    expect(gone.status).toBe(404);
    expect(gone.body.toString()).toContain('<Code>NoSuchKey</Code>');
  });

  test('Fetch_presigned_versions: x-amz-version-id exposed; a version read and deleted by id; nothing left', async () => {
    await page.goto(`${app.origin}/`);
    const key = 'versions/v.txt';
    const bodies = [Buffer.from('first version\n'), Buffer.from('second version\n')];
    const ids: string[] = [];
    for (const body of bodies) {
      const put = await pageFetch(page, await getSignedUrl(s3, new PutObjectCommand({ Bucket: versioned, Key: key }), EXPIRES), 'PUT', body);
      expect(put.status).toBe(200);
      expect(put.headers['x-amz-version-id']).toMatch(/^[^\s]+$/);
      ids.push(put.headers['x-amz-version-id']!);
    }
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: versioned }));
    expect((listed.Versions ?? []).map((v) => v.VersionId).sort()).toEqual([...ids].sort());

    const first = await pageFetch(page, await getSignedUrl(s3, new GetObjectCommand({ Bucket: versioned, Key: key, VersionId: ids[0] }), EXPIRES), 'GET');
    expect({ status: first.status, version: first.headers['x-amz-version-id'], body: first.body.toString() }).toEqual({
      status: 200, version: ids[0], body: bodies[0].toString(),
    });
    for (const id of ids) {
      const del = await pageFetch(page, await getSignedUrl(s3, new DeleteObjectCommand({ Bucket: versioned, Key: key, VersionId: id }), EXPIRES), 'DELETE');
      expect({ status: del.status, version: del.headers['x-amz-version-id'] }).toEqual({ status: 204, version: id });
    }
    await expectBucketEmpty(s3, versioned);
  });

  test('Navigate_presigned_GET: a text/plain object shown in the tab; a Content-Disposition override downloads', async () => {
    const text = 'Hello from rfs: ünïcödé, 日本語.\nSecond line.';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'nav/hello.txt', Body: text, ContentType: 'text/plain; charset=utf-8' }));
    const shown = await page.goto(await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'nav/hello.txt' }), EXPIRES));
    expect(shown?.status()).toBe(200);
    expect(await page.locator('body').innerText()).toBe(text);

    const data = pseudoRandom(100_000, 23);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'nav/report.bin', Body: data }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'nav/report.bin', ResponseContentDisposition: 'attachment; filename="report 1.bin"' }), EXPIRES);
    // Navigating to a download aborts the navigation itself; the download is what counts.
    const [download] = await Promise.all([page.waitForEvent('download'), page.goto(url).catch(() => null)]);
    expect(download.suggestedFilename()).toBe('report 1.bin');
    expect(md5(await readFile(await download.path()))).toBe(md5(data));
  });

  test('Form_POST_upload: the browser submits a signed form with a file and lands on success_action_redirect', async () => {
    const data = pseudoRandom(200_000, 29);
    const redirect = `${app.origin}/uploaded?from=form`;
    const fields: [string, string][] = [
      ['key', 'form/${filename}'],
      ['Content-Type', 'image/png'],
      ['success_action_redirect', redirect],
    ];
    const signed = signPostPolicy({
      bucket,
      conditions: [
        ['starts-with', '$key', 'form/'],
        { 'Content-Type': 'image/png' },
        { success_action_redirect: redirect },
        ['content-length-range', 1, 1024 * 1024],
      ],
    });
    app.set('/form', htmlPage('upload', uploadForm(`${server.url}/${bucket}`, [...fields, ...signed])));
    app.set('/uploaded', htmlPage('uploaded', '<p>thanks</p>'));
    await page.goto(`${app.origin}/form`);
    await page.setInputFiles('input[type=file]', { name: 'photo 1.png', mimeType: 'image/png', buffer: data });
    await Promise.all([page.waitForURL(`${app.origin}/uploaded?**`), page.click('button[type=submit]')]);

    const landed = new URL(page.url());
    expect(`${landed.origin}${landed.pathname}`).toBe(`${app.origin}/uploaded`);
    expect([...landed.searchParams]).toEqual([['from', 'form'], ['bucket', bucket], ['key', 'form/photo 1.png'], ['etag', `"${md5(data)}"`]]);
    expect(await page.locator('p').innerText()).toBe('thanks');
    const stored = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'form/photo 1.png' }));
    expect(stored.ContentType).toBe('image/png');
    expect(md5(await objectBytes(s3, bucket, 'form/photo 1.png'))).toBe(md5(data));
  });

  test('Cors_refused: from an origin in no rule, GET and PUT fetches reject with TypeError; nothing written', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'refused/there.txt', Body: 'there' }));
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'refused/there.txt' }), EXPIRES);
    const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'refused/new.txt' }), EXPIRES);
    await page.goto(`${stranger.origin}/`);
    expect(await pageFetchFailure(page, get, 'GET')).toMatch(/^TypeError: /);
    expect(await pageFetchFailure(page, put, 'PUT')).toMatch(/^TypeError: /);
    expect(await headError('refused/new.txt')).toMatchObject({ status: 404 });
    // The same URLs work from the app's origin: the refusal is the CORS rule's doing.
    await page.goto(`${app.origin}/`);
    expect(await pageFetchFailure(page, get, 'GET')).toBe('');
    expect((await pageFetch(page, get, 'GET')).body.toString()).toBe('there');
  });
});
