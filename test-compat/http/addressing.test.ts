import http from 'node:http';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client, startTestServer, type TestServer } from '../harness';
import { signRequest } from './signing';

/** Virtual-hosted-style addressing (`bucket.<RFS_DOMAIN>`) next to path-style. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ RFS_DOMAIN: 'rfs.test' });
  const s3 = s3Client(server.url);
  await s3.send(new CreateBucketCommand({ Bucket: 'vhost' }));
  await s3.send(new PutObjectCommand({ Bucket: 'vhost', Key: 'dir/file name.txt', Body: 'virtual' }));
  s3.destroy();
});
afterAll(() => server?.close());

/** Signs for `http://<host>:<port>` and sends to the server's loopback address with that Host. */
async function viaHost(host: string, method: string, path: string): Promise<{ status: number; body: string }> {
  const port = new URL(server.url).port;
  const s = await signRequest(`http://${host}:${port}`, { method, path });
  const target = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target.pathname + target.search, headers: s.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('VirtualHosted_GetObject: bucket from the Host header, key from the path', async () => {
  expect(await viaHost('vhost.rfs.test', 'GET', '/dir/file name.txt')).toEqual({ status: 200, body: 'virtual' });
});

test('VirtualHosted_ListObjects: the root path of a bucket host lists it', async () => {
  const r = await viaHost('vhost.rfs.test', 'GET', '/');
  expect(r.status).toBe(200);
  expect(r.body).toContain('<Key>dir/file name.txt</Key>');
});

test('PathStyle_onTheDomain: the bare domain still takes path-style requests', async () => {
  expect(await viaHost('rfs.test', 'GET', '/vhost/dir/file name.txt')).toEqual({ status: 200, body: 'virtual' });
});
