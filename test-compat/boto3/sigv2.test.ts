import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Client, startTestServer, type TestServer } from '../harness';
import { clientGate, expectBucketEmpty, probeCommand, probePythonModule, runCommand, tempDir } from '../clients';
import { runScript } from './scripts';

/**
 * boto3 signing with Signature Version 2 (`Config(signature_version='s3')`: botocore's
 * HmacV1Auth, HmacV1QueryAuth and HmacV1PostAuth, the signers aws cli v1 uses too: Debian's
 * awscli is v1, and awscli.test.ts fetches the SigV2 URL its `s3 presign` writes), and UTF-8 user
 * metadata through SigV4 and SigV2. Runs sigv2.py beside this file, as boto3.test.ts runs its
 * scripts; SigV2 presigned URLs are also fetched with the real curl.
 */
const python = probePythonModule('boto3');
const describeBoto3 = clientGate('boto3', python, 'apt-get install python3-boto3');
const curl = probeCommand('curl');

const script = (args: string[], endpoint: string) => runScript(python.bin!, 'sigv2', args, endpoint);

/** GET a URL with the real curl (the URL as given, no globbing): status, headers, body. */
async function curlGet(url: string, dir: string): Promise<{ status: number; body: Buffer; headers: string }> {
  const [head, out] = [path.join(dir, 'head.txt'), path.join(dir, 'body.bin')];
  const r = await runCommand(curl.bin!, ['-s', '--globoff', '-D', head, '-o', out, url], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr}`);
  const headers = await readFile(head, 'latin1');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/m.exec(headers)?.[1]);
  return { status, body: await readFile(out), headers };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describeBoto3(`boto3 SigV2 (${python.version ?? 'not installed'})`, () => {
  let server: TestServer;
  let s3: S3Client;
  let work: string;
  const py = (bucket: string, part: string) => script([bucket, part], server.url);

  beforeAll(async () => {
    server = await startTestServer();
    s3 = s3Client(server.url);
    work = await tempDir('boto3-sigv2');
  });
  afterAll(async () => {
    s3?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
    await server?.close();
  });

  test('SigV2_objects: put/get/list/delete, sub-resources (acl, tagging, uploads, partNumber+uploadId, delete), multipart; a wrong secret → SignatureDoesNotMatch', async () => {
    const bucket = 'boto3-sigv2';
    await py(bucket, 'create-bucket');
    const r = await py(bucket, 'objects');
    expect(r.get).toEqual({ same: true, contentType: 'application/x-rfs', metadata: { color: 'blue' }, etag: r.put.etag });
    expect(r.ranged).toBe(true);
    expect(r.override).toEqual({ contentType: 'text/x-over ride', disposition: 'attachment; filename="ü.bin"' });
    expect(r.listed).toEqual(['v2/a file+ü (1).bin']);
    expect(r.listedV1).toEqual(['v2/a file+ü (1).bin']);
    expect(r.bucketListed).toBe(true);
    expect(r.aclGrants).toBeGreaterThan(0);
    expect(r.tags).toEqual([{ Key: 'k', Value: 'v w' }]);
    expect(r.multipart).toEqual({ parts: [1, 2], etag: expect.stringMatching(/^"[0-9a-f]{32}-2"$/), same: true });
    expect(r.wrongKey).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    expect(r.deleted).toEqual(['v2/multi part.bin']);
    expect(r.left).toBe(0);
    await expectBucketEmpty(s3, bucket);
    await py(bucket, 'delete-bucket');
  }, 120_000);

  test('SigV2_presigned: boto3 URLs fetched with urllib and curl; response-* override signed; tampered path → SignatureDoesNotMatch with the StringToSign', async () => {
    const bucket = 'boto3-sigv2-presign';
    await py(bucket, 'create-bucket');
    const r = await py(bucket, 'presign');
    expect(r.url).toMatch(/[?&]AWSAccessKeyId=[^&]+&Signature=[^&]+&Expires=\d+$/);
    expect(r.urllib).toEqual({ status: 200, same: true });
    if (curl.ok) {
      const got = await curlGet(r.url, work);
      expect({ status: got.status, sha256: sha256(got.body) }).toEqual({ status: 200, sha256: r.sha256 });
      const disposition = await curlGet(r.dispositionUrl, work);
      expect(disposition.status).toBe(200);
      expect(disposition.headers).toMatch(/^content-disposition: attachment; filename="x y.bin"\r?$/im);

      const tampered = await curlGet(r.url.replace('a%20file', 'b%20file'), work);
      expect(tampered.status).toBe(403);
      const xml = tampered.body.toString('utf8');
      expect(xml).toContain('<Code>SignatureDoesNotMatch</Code>');
      expect(xml).toMatch(/<StringToSign>GET\n\n\n\d+\n\/boto3-sigv2-presign\/presign\/b%20file%2B%C3%BC.bin<\/StringToSign>/);
    }
    // A presigned PUT works with a plain HTTP client too.
    const put = await fetch(r.putUrl, { method: 'PUT', body: Buffer.from('put through a v2 URL') });
    expect(put.status).toBe(200);
    for (const key of ['presign/a file+ü.bin', 'presign/put.bin']) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    await expectBucketEmpty(s3, bucket);
    await py(bucket, 'delete-bucket');
  }, 60_000);

  test('SigV2_post: generate_presigned_post signs a v2 policy (AWSAccessKeyId, policy, signature); the form upload stores the file', async () => {
    const bucket = 'boto3-sigv2-post';
    await py(bucket, 'create-bucket');
    const r = await py(bucket, 'post');
    expect(r).toEqual({ fields: ['AWSAccessKeyId', 'Content-Type', 'key', 'policy', 'signature'], status: 204, contentType: 'text/x-rfs', same: true });
    await py(bucket, 'delete-bucket');
  }, 60_000);

  test("UTF8_metadata: 'café' / '日本' put with SigV4 and with SigV2 read back as the same text (HEAD, GET, CopyObject REPLACE)", async () => {
    const bucket = 'boto3-utf8-meta';
    await py(bucket, 'create-bucket');
    const r = await py(bucket, 'metadata');
    for (const version of ['s3v4', 's3']) {
      expect(r[version].head).toEqual({ name: 'café', city: '日本', plain: 'ascii' });
      expect(r[version].get).toEqual({ name: 'café', city: '日本', plain: 'ascii' });
      expect(r[version].copy).toEqual({ name: 'naïve' });
    }
    await expectBucketEmpty(s3, bucket);
    await py(bucket, 'delete-bucket');
  }, 60_000);

  describe('RFS_SIGV2=off', () => {
    let off: TestServer;
    beforeAll(async () => {
      off = await startTestServer({ RFS_SIGV2: 'off' });
    });
    afterAll(() => off?.close());

    test('SigV2_off: header, presigned URL and POST form are all refused as S3 refuses SigV2 (400 InvalidRequest); SigV4 still works', async () => {
      const bucket = 'boto3-sigv2-off';
      await script([bucket, 'create-bucket'], off.url);
      const r = await script([bucket, 'refused'], off.url);
      expect(r.header).toEqual({ code: 'InvalidRequest', status: 400 });
      for (const form of [r.presigned, r.post]) {
        expect(form.status).toBe(400);
        expect(form.body).toContain('<Code>InvalidRequest</Code>');
        expect(form.body).toContain('The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
      }
      expect(r.v4).toBe(0);
      await script([bucket, 'delete-bucket'], off.url);
    }, 60_000);
  });
});
