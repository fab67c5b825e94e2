import { CreateBucketCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createTestDatabase } from '../../metadata/pg.testing';
import { ROOT, s3Client, s3Error, startTestServer, type TestServer } from '../../test-compat/harness';
import { signRequest } from '../../test-compat/http/signing';
import { startAdminServer, type AdminServer } from './admin.testing';
import { startKeycloakLookalike, type KeycloakLookalike } from '../../test-compat/oidc/keycloak-lookalike';
import { BUILTIN_POLICIES, ensureBuiltinPolicies } from './index';

/**
 * The admin REST API against a real gateway on PostgreSQL (the admin routes on a listener of
 * their own, sharing the gateway's services, so every log line can be read back): status
 * codes and error shapes, what each call stores, and that a secret appears only in the one
 * answer that creates it.
 */
let database: { url: string; drop(): Promise<void> };
let gateway: TestServer;
let admin: AdminServer;
let s3: S3Client;
let realm: KeycloakLookalike;

interface Answer {
  status: number;
  body: any;
}

interface CallOptions {
  sign?: boolean;
  sendBody?: string;
  /** Signs with these keys instead of root's. */
  keys?: { accessKeyId: string; secretKey: string };
  /** Sends `Authorization: Bearer <token>` instead of a signature. */
  bearer?: string;
  /** The gateway's own listener instead of the test's admin listener. */
  base?: string;
}

async function call(method: string, route: string, body?: unknown, opts: CallOptions = {}): Promise<Answer> {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const path = `/_rfs/admin/${route}`;
  const base = opts.base ?? admin.url;
  let url = `${base}${path}`;
  let headers: Record<string, string> = {};
  if (opts.bearer !== undefined) headers = { authorization: `Bearer ${opts.bearer}` };
  else if (opts.sign !== false) ({ url, headers } = await signRequest(base, { method, path, body: text }, { keys: opts.keys ?? ROOT }));
  const res = await fetch(url, { method, headers, body: opts.sendBody ?? (text === '' ? undefined : text) });
  const answer = await res.text();
  return { status: res.status, body: answer === '' ? undefined : JSON.parse(answer) };
}

const errorOf = (a: Answer) => ({ status: a.status, code: a.body?.error?.code });

beforeAll(async () => {
  database = await createTestDatabase(`rfs_admin_${process.pid}`);
  realm = await startKeycloakLookalike();
  gateway = await startTestServer({ RFS_DATABASE_URL: database.url, RFS_OIDC_ISSUER: realm.issuer });
  await ensureBuiltinPolicies(gateway.rfs!.services.meta.iam);
  admin = await startAdminServer(gateway.rfs!);
  s3 = s3Client(gateway.url);
});

afterAll(async () => {
  s3?.destroy();
  await admin?.close();
  await gateway?.close();
  await realm?.close();
  await database?.drop();
});

test('Admin_auth: unsigned and non-admin calls are refused with 403 AccessDenied in JSON; unknown routes are a JSON 404', async () => {
  expect(errorOf(await call('GET', 'users', undefined, { sign: false }))).toEqual({ status: 403, code: 'AccessDenied' });
  expect(errorOf(await call('GET', 'no-such-thing'))).toEqual({ status: 404, code: 'NoSuchRoute' });
  // A body that is not the one signed is refused before anything is stored.
  const tampered = await call('POST', 'users', { name: 'mallory' }, { sendBody: JSON.stringify({ name: 'mallory', policies: ['admin'] }) });
  expect(errorOf(tampered)).toEqual({ status: 400, code: 'XAmzContentSHA256Mismatch' });
  expect((await call('GET', 'users/mallory')).status).toBe(404);
});

test('Admin_authorization: on the gateway itself, users whose policies allow rfs:Admin and Keycloak tokens with the admin role; nobody else', async () => {
  const base = gateway.url;
  for (const [name, policies] of [['ops', ['admin']], ['dev', ['readwrite']]] as const) {
    expect((await call('POST', 'users', { name, policies })).status).toBe(201);
  }
  const keysOf = async (name: string) => (await call('POST', `users/${name}/keys`)).body as { accessKeyId: string; secretKey: string };
  const [ops, dev] = [await keysOf('ops'), await keysOf('dev')];
  expect((await call('GET', 'users', undefined, { base, keys: ROOT })).status).toBe(200);
  expect((await call('GET', 'users', undefined, { base, keys: ops })).status).toBe(200);
  // Owning buckets, or reading and writing every one, is not administering.
  expect(errorOf(await call('GET', 'users', undefined, { base, keys: dev }))).toEqual({ status: 403, code: 'AccessDenied' });
  expect(errorOf(await call('POST', 'users', { name: 'eve', policies: ['admin'] }, { base, keys: dev }))).toEqual({ status: 403, code: 'AccessDenied' });
  expect((await call('GET', 'users/eve')).status).toBe(404);

  const adminToken = (await realm.signIn('kc-admin', ['admin'])).accessToken;
  const devToken = (await realm.signIn('kc-dev', ['readwrite'])).accessToken;
  expect((await call('GET', 'policies', undefined, { base, bearer: adminToken })).status).toBe(200);
  expect(errorOf(await call('GET', 'policies', undefined, { base, bearer: devToken }))).toEqual({ status: 403, code: 'AccessDenied' });
  const [header, payload] = adminToken.split('.');
  expect(errorOf(await call('GET', 'policies', undefined, { base, bearer: `${header}.${payload}.` }))).toEqual({ status: 403, code: 'AccessDenied' });
  expect(errorOf(await call('GET', 'policies', undefined, { base, bearer: 'not-a-jwt' }))).toEqual({ status: 403, code: 'AccessDenied' });

  // An explicit Deny of rfs:Admin beats the admin policy.
  await call('PUT', 'policies/no-admin', { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'rfs:*', Resource: '*' }] });
  await call('PATCH', 'users/ops', { policies: ['admin', 'no-admin'] });
  expect(errorOf(await call('GET', 'users', undefined, { base, keys: ops }))).toEqual({ status: 403, code: 'AccessDenied' });
  for (const name of ['ops', 'dev']) {
    for (const k of (await call('GET', `users/${name}/keys`)).body.keys) await call('DELETE', `keys/${k.accessKeyId}`);
    expect((await call('DELETE', `users/${name}`)).status).toBe(200);
  }
  await call('DELETE', 'policies/no-admin');
});

test('Admin_users: create, read, change, revoke and delete, with IAM-style validation and errors', async () => {
  const created = await call('POST', 'users', { name: 'alice', policies: ['readonly'] });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ name: 'alice', source: 'local', disabled: false, policies: ['readonly'] });
  expect(created.body.id).toMatch(/^[0-9a-f]{64}$/);
  expect(created.body.userId).toMatch(/^AIDA[A-Z2-7]{16}$/);

  expect(errorOf(await call('POST', 'users', { name: 'alice' }))).toEqual({ status: 409, code: 'EntityAlreadyExists' });
  expect(errorOf(await call('POST', 'users', { name: 'has space' }))).toEqual({ status: 400, code: 'ValidationError' });
  expect(errorOf(await call('POST', 'users', { name: 'x'.repeat(65) }))).toEqual({ status: 400, code: 'ValidationError' });
  expect(errorOf(await call('POST', 'users', { name: 'bob', policies: ['nope'] }))).toEqual({ status: 404, code: 'NoSuchEntity' });
  expect(errorOf(await call('POST', 'users', '{not json'))).toEqual({ status: 400, code: 'MalformedJSON' });
  expect(errorOf(await call('POST', 'users', { name: 'bob', polices: [] }))).toEqual({ status: 400, code: 'InvalidInput' });

  const info = await call('GET', 'users/alice');
  expect(info.status).toBe(200);
  expect(info.body).toMatchObject({ name: 'alice', keys: [] });
  expect(errorOf(await call('GET', 'users/nobody'))).toEqual({ status: 404, code: 'NoSuchEntity' });

  const patched = await call('PATCH', 'users/alice', { disabled: true, policies: ['readwrite', 'readonly'] });
  expect(patched.body).toMatchObject({ disabled: true, policies: ['readwrite', 'readonly'] });
  expect(errorOf(await call('PATCH', 'users/alice', { disabled: 'yes' }))).toEqual({ status: 400, code: 'InvalidInput' });
  expect(errorOf(await call('PATCH', 'users/alice', { policies: ['nope'] }))).toEqual({ status: 404, code: 'NoSuchEntity' });
  expect(errorOf(await call('PATCH', 'users/nobody', { disabled: true }))).toEqual({ status: 404, code: 'NoSuchEntity' });

  const before = Date.now();
  const revoked = await call('POST', 'users/alice/revoke-sessions');
  expect(Date.parse(revoked.body.sessionsValidAfter)).toBeGreaterThanOrEqual(before - 5000);

  expect((await call('GET', 'users')).body.users.map((u: { name: string }) => u.name)).toContain('alice');
  expect((await call('DELETE', 'users/alice')).status).toBe(200);
  expect(errorOf(await call('DELETE', 'users/alice'))).toEqual({ status: 404, code: 'NoSuchEntity' });
});

test('Admin_keys: the secret is returned once, stored sealed, signs S3 requests, and appears in no other answer and no log line', async () => {
  await call('POST', 'users', { name: 'carol' });
  const created = await call('POST', 'users/carol/keys');
  expect(created.status).toBe(201);
  const { accessKeyId, secretKey } = created.body;
  expect(accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
  expect(secretKey).toMatch(/^[A-Za-z0-9]{40}$/);

  const stored = await gateway.rfs!.services.meta.iam.getKey(accessKeyId);
  expect(stored!.sealedSecret).not.toContain(secretKey);
  expect(gateway.rfs!.services.box.unseal(stored!.sealedSecret, `access-key:${accessKeyId}`)).toBe(secretKey);

  // The new key is a working S3 credential of carol's own account.
  const carol = s3Client(gateway.url, { accessKeyId, secretKey });
  try {
    await carol.send(new CreateBucketCommand({ Bucket: 'carols' }));
    expect((await carol.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['carols']);

    const answers = [await call('GET', 'users/carol/keys'), await call('GET', 'users/carol'), await call('GET', 'users')];
    for (const a of answers) expect(JSON.stringify(a.body)).not.toContain(secretKey);
    expect(answers[0].body.keys).toEqual([{ accessKeyId, userName: 'carol', status: 'Active', createdAt: expect.any(String) }]);

    expect((await call('PATCH', `keys/${accessKeyId}`, { status: 'Inactive' })).body.status).toBe('Inactive');
    expect(await s3Error(carol.send(new ListBucketsCommand({})))).toMatchObject({ name: 'InvalidAccessKeyId' });
    expect(errorOf(await call('PATCH', `keys/${accessKeyId}`, { status: 'Off' }))).toEqual({ status: 400, code: 'InvalidInput' });
    expect(errorOf(await call('PATCH', 'keys/AKIANOSUCHKEY0000000', { status: 'Active' }))).toEqual({ status: 404, code: 'NoSuchEntity' });
    expect(errorOf(await call('POST', 'users/nobody/keys'))).toEqual({ status: 404, code: 'NoSuchEntity' });

    // A user that owns a bucket cannot go (its bucket would be left to nobody).
    expect(errorOf(await call('DELETE', 'users/carol'))).toEqual({ status: 409, code: 'DeleteConflict' });
    expect((await call('DELETE', `keys/${accessKeyId}`)).status).toBe(200);
    expect(errorOf(await call('DELETE', `keys/${accessKeyId}`))).toEqual({ status: 404, code: 'NoSuchEntity' });
  } finally {
    carol.destroy();
  }
  expect(admin.logs.length).toBeGreaterThan(0);
  expect(admin.logs.join('\n')).not.toContain(secretKey);
});

test('Admin_policies: built-ins exist and survive a restart unedited-only; documents are validated as AWS does', async () => {
  const list = await call('GET', 'policies');
  expect(list.body.policies.filter((p: { builtin: boolean }) => p.builtin).map((p: { name: string }) => p.name).sort()).toEqual(['admin', 'readonly', 'readwrite']);
  expect((await call('GET', 'policies/readwrite')).body.document).toEqual(JSON.parse(BUILTIN_POLICIES.readwrite));

  const malformed = await call('PUT', 'policies/broken', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}');
  expect(errorOf(malformed)).toEqual({ status: 400, code: 'MalformedPolicyDocument' });
  expect(malformed.body.error.message.length).toBeGreaterThan(0);
  expect(errorOf(await call('PUT', 'policies/broken', 'not json'))).toEqual({ status: 400, code: 'MalformedPolicyDocument' });
  expect(errorOf(await call('GET', 'policies/broken'))).toEqual({ status: 404, code: 'NoSuchEntity' });

  const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/*' }] };
  expect((await call('PUT', 'policies/photos-read', JSON.stringify(doc))).status).toBe(201);
  expect((await call('PUT', 'policies/photos-read', JSON.stringify(doc))).status).toBe(200);
  expect((await call('GET', 'policies/photos-read')).body).toMatchObject({ name: 'photos-read', builtin: false, document: doc });

  await call('POST', 'users', { name: 'dave', policies: ['photos-read'] });
  expect(errorOf(await call('DELETE', 'policies/photos-read'))).toEqual({ status: 409, code: 'DeleteConflict' });
  await call('PATCH', 'users/dave', { policies: [] });
  expect((await call('DELETE', 'policies/photos-read')).status).toBe(200);
  expect(errorOf(await call('DELETE', 'policies/readwrite'))).toEqual({ status: 400, code: 'ValidationError' });

  // An edited built-in is kept by the next start's ensureBuiltinPolicies.
  const narrowed = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
  await call('PUT', 'policies/readonly', narrowed);
  await ensureBuiltinPolicies(gateway.rfs!.services.meta.iam);
  expect((await gateway.rfs!.services.meta.iam.getPolicy('readonly'))!.document).toBe(narrowed);
});

test('Admin_buckets: owner, usage and quota; a quota change reaches the bucket cache at once', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'media' }));
  await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'a', Body: Buffer.alloc(1000, 1) }));
  await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'b', Body: Buffer.alloc(1000, 1) }));
  const services = gateway.rfs!.services;
  expect((await services.buckets.get('media'))!.quotaBytes).toBeUndefined(); // now cached

  const info = await call('GET', 'buckets/media');
  expect(info.body).toMatchObject({ name: 'media', ownerName: 'root', versioning: 'Off', quotaBytes: null, usage: { objects: 2, logicalBytes: 2000 } });
  expect(info.body.usage.physicalBytes).toBeGreaterThan(0);
  const list = await call('GET', 'buckets');
  expect(list.body.buckets.find((b: { name: string }) => b.name === 'media')).toMatchObject({ usage: { objects: 2 } });

  expect((await call('PUT', 'buckets/media/quota', { bytes: 4096 })).body).toEqual({ name: 'media', quotaBytes: 4096 });
  expect((await services.buckets.get('media'))!.quotaBytes).toBe(4096);
  expect((await call('GET', 'buckets/media')).body.quotaBytes).toBe(4096);
  for (const bad of [{ bytes: 0 }, { bytes: -1 }, { bytes: 1.5 }, { bytes: '10GiB' }, {}]) {
    expect(errorOf(await call('PUT', 'buckets/media/quota', bad))).toEqual({ status: 400, code: 'InvalidInput' });
  }
  expect(errorOf(await call('PUT', 'buckets/nope/quota', { bytes: 1 }))).toEqual({ status: 404, code: 'NoSuchBucket' });
  expect(errorOf(await call('GET', 'buckets/nope'))).toEqual({ status: 404, code: 'NoSuchBucket' });

  expect((await call('DELETE', 'buckets/media/quota')).body).toEqual({ name: 'media', quotaBytes: null });
  expect((await services.buckets.get('media'))!.quotaBytes).toBeUndefined();
});

test('Admin_jobs: gc and lifecycle start at once and their progress shows in GET /jobs; scrub and (without nodes) repair are refused with a reason', async () => {
  const started = await call('POST', 'jobs/gc');
  expect(started.status).toBe(202);
  expect(started.body).toMatchObject({ job: 'gc', lease: 'gc', started: true });
  const since = Date.parse(started.body.since);
  let gc: any;
  for (let i = 0; i < 100; i++) {
    gc = (await call('GET', 'jobs')).body.jobs.find((j: { name: string }) => j.name === 'gc');
    if (gc && Date.parse(gc.progress.finished) >= since) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // Counters show once a pass has candidates to report; the end of a run always shows.
  expect(gc).toMatchObject({ name: 'gc', running: false, progress: { finished: expect.any(String) } });

  expect(errorOf(await call('POST', 'jobs/scrub'))).toEqual({ status: 400, code: 'InvalidRequest' });
  const lifecycle = await call('POST', 'jobs/lifecycle');
  expect(lifecycle).toMatchObject({ status: 202, body: { job: 'lifecycle', lease: 'lifecycle', started: true } });
  expect(errorOf(await call('POST', 'jobs/repair'))).toEqual({ status: 400, code: 'InvalidRequest' });
  expect(errorOf(await call('POST', 'jobs/defrag'))).toEqual({ status: 404, code: 'NoSuchJob' });

  const cluster = await call('GET', 'cluster');
  expect(cluster.body).toMatchObject({ storage: 'local', nodes: [], repairBacklog: 0 });
  expect((await call('GET', 'nodes')).body).toEqual({ storage: 'local', nodes: [] });
  expect(errorOf(await call('POST', 'nodes/n1/drain'))).toEqual({ status: 404, code: 'NoSuchNode' });
});
