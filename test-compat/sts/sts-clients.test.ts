import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as jose from 'jose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient, STSServiceException, type Credentials,
} from '@aws-sdk/client-sts';
import { fromTokenFile } from '@aws-sdk/credential-providers';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { issueSession, openSession } from '../../gateway/sts/session-token';
import { objectBytes, pseudoRandom, s3Client, s3Error } from '../harness';
import { clientGate, probePythonModule } from '../clients';
import { awsVersion } from '../awscli/cli';
import { hostileTokens } from '../oidc/keycloak-lookalike';
import {
  CLIENT_ID, STS_MAX_SECONDS, assumeWithToken, awsCli, runBoto3, sessionS3, startStsEnv, stsPost, type StsCredentials, type StsEnv,
} from './sts-env';

/**
 * Keycloak users get temporary credentials from rfs's STS endpoint and use them for S3, with
 * the real clients: the aws cli, the AWS SDK v3 (its STS client and its web-identity
 * credential provider), boto3 and presigned URLs fetched over plain HTTP. The identity
 * provider is a real OpenID provider laid out like a Keycloak realm; the gateway is a real
 * listener with its own data dir. Each test asserts what a user would see: bytes that
 * round-trip, and S3's or STS's exact error code and HTTP status.
 */
const cliVersion = awsVersion();
const describeAwsCli = clientGate('awscli', cliVersion ? { ok: true, version: cliVersion } : { ok: false, reason: '`aws --version` failed' }, 'apt-get install awscli');
const python = probePythonModule('boto3');
const describeBoto3 = clientGate('boto3', python, 'apt-get install python3-boto3');
/** "the service returned an error": 255 in aws-cli 1.x, 254 in 2.x. */
const CLI_SERVICE_ERROR = cliVersion?.startsWith('aws-cli/2.') ? 254 : 255;

/** The bucket every session may use (by its role), one a scoped role may not, and the scoped role's own. */
const DATA = 'sts-data';
const OTHER = 'sts-other';
const TEAM = 'sts-team';
/** A named policy that covers one bucket only: a Keycloak role of the same name maps to it. */
const TEAM_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: [`arn:aws:s3:::${TEAM}`, `arn:aws:s3:::${TEAM}/*`] }],
};
const ONLY_GET = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });

let env: StsEnv;
let root: S3Client;
const clients: { destroy(): void }[] = [];
/** A client destroyed in afterAll. */
const keep = <T extends { destroy(): void }>(client: T): T => (clients.push(client), client);

beforeAll(async () => {
  env = await startStsEnv();
  root = keep(s3Client(env.url));
  for (const bucket of [DATA, OTHER, TEAM]) await root.send(new CreateBucketCommand({ Bucket: bucket }));
  await root.send(new PutObjectCommand({ Bucket: DATA, Key: 'seed.txt', Body: 'seeded by root' }));
  await root.send(new PutObjectCommand({ Bucket: OTHER, Key: 'seed.txt', Body: 'not for the team' }));
  // Through the admin API, as an operator would (`rfs policy put sts-team team.json`).
  await env.admin.call('PUT', 'policies/sts-team', JSON.stringify(TEAM_POLICY));
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await env?.close();
});

/** A user's access token from the realm (signed in with the password grant). */
const tokenOf = async (username: string, roles: string[]) => (await env.realm.signIn(username, roles)).accessToken;
/** A session's S3 client, destroyed in afterAll. */
const asSession = (creds: StsCredentials, opts: Parameters<typeof sessionS3>[2] = {}) => keep(sessionS3(env.url, creds, opts));
const text = async (s3: S3Client, bucket: string, key: string) => (await objectBytes(s3, bucket, key)).toString('utf8');
/** The SDK's Credentials in STS's wire shape. */
const fromSdk = (c: Credentials | undefined): StsCredentials => ({
  AccessKeyId: c!.AccessKeyId!, SecretAccessKey: c!.SecretAccessKey!, SessionToken: c!.SessionToken!, Expiration: c!.Expiration!.toISOString(),
});
/** An expiration as seconds from now. */
const secondsLeft = (expiration: string | Date) => (new Date(expiration).getTime() - Date.now()) / 1000;

describeAwsCli(`aws cli (${cliVersion ?? 'not installed'}): sign in with a Keycloak token, then aws s3 with the session`, () => {
  test('Sts_awsCli: assume-role-with-web-identity, unsigned, answers credentials; aws s3 cp up and down with them round-trips the bytes', async () => {
    const token = await tokenOf('cli-user', ['readwrite', 'offline_access', 'default-roles-rfs']);
    const r = await awsCli(env, [
      'sts', 'assume-role-with-web-identity', '--role-arn', 'arn:aws:iam:::role/readwrite', '--role-session-name', 's1',
      '--web-identity-token', token, '--output', 'json',
    ]);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const answer = JSON.parse(r.stdout);
    expect(answer).toMatchObject({
      AssumedRoleUser: { Arn: 'arn:aws:sts:::assumed-role/readwrite/s1', AssumedRoleId: expect.stringMatching(/^AROA[A-Z2-7]{17}:s1$/) },
      SubjectFromWebIdentityToken: env.realm.subjectOf('cli-user'),
      Provider: env.realm.issuer,
      Audience: CLIENT_ID,
    });
    const creds: StsCredentials = answer.Credentials;
    expect(creds.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(creds.SessionToken.length).toBeGreaterThan(100);
    expect(secondsLeft(creds.Expiration)).toBeGreaterThan(3500); // the default hour
    expect(secondsLeft(creds.Expiration)).toBeLessThanOrEqual(3600);

    const bytes = pseudoRandom(300_000, 11); // over the inline limit: stored as chunks
    const upload = path.join(env.work, 'cli-up.bin');
    const download = path.join(env.work, 'cli-down.bin');
    await writeFile(upload, bytes);
    const up = await awsCli(env, ['s3', 'cp', upload, `s3://${DATA}/cli/object.bin`], creds);
    expect({ code: up.code, stderr: up.stderr }).toMatchObject({ code: 0 });
    const down = await awsCli(env, ['s3', 'cp', `s3://${DATA}/cli/object.bin`, download], creds);
    expect({ code: down.code, stderr: down.stderr }).toMatchObject({ code: 0 });
    expect((await readFile(download)).equals(bytes)).toBe(true);
    expect((await objectBytes(root, DATA, 'cli/object.bin')).equals(bytes)).toBe(true);
  });

  test('Sts_awsCliRefusals: a token whose roles map to no policy is AccessDenied; session keys without their token are InvalidAccessKeyId', async () => {
    const token = await tokenOf('cli-nobody', ['offline_access', 'default-roles-rfs']);
    const refused = await awsCli(env, [
      'sts', 'assume-role-with-web-identity', '--role-arn', 'arn:aws:iam:::role/readwrite', '--role-session-name', 's1', '--web-identity-token', token,
    ]);
    expect(refused.code).toBe(CLI_SERVICE_ERROR);
    expect(refused.stderr).toMatch(/An error occurred \(AccessDenied\) when calling the AssumeRoleWithWebIdentity operation/);

    const creds = await assumeWithToken(env.url, await tokenOf('cli-user', ['readwrite']));
    const noToken = await awsCli(env, ['s3', 'ls', `s3://${DATA}/`], { ...creds, SessionToken: '' });
    expect(noToken.code).toBe(CLI_SERVICE_ERROR);
    expect(noToken.stderr).toMatch(/An error occurred \(InvalidAccessKeyId\) when calling the ListObjectsV2 operation/);
    const listed = await awsCli(env, ['s3', 'ls', `s3://${DATA}/`], creds);
    expect({ code: listed.code, stderr: listed.stderr }).toMatchObject({ code: 0 });
    expect(listed.stdout).toMatch(/ seed\.txt$/m);
  });
});

describe('AWS SDK v3: @aws-sdk/client-sts and the web-identity credential provider', () => {
  const sts = () => keep(new STSClient({ endpoint: env.url, region: 'us-east-1', maxAttempts: 1 }));

  test('Sts_sdk: AssumeRoleWithWebIdentityCommand answers credentials for DurationSeconds; PutObject/GetObject round-trip with them', async () => {
    const token = await tokenOf('sdk-user', ['readwrite']);
    const answer = await sts().send(new AssumeRoleWithWebIdentityCommand({
      RoleArn: 'arn:aws:iam:::role/readwrite', RoleSessionName: 'sdk-session', WebIdentityToken: token, DurationSeconds: 900,
    }));
    expect(answer).toMatchObject({
      SubjectFromWebIdentityToken: env.realm.subjectOf('sdk-user'),
      Provider: env.realm.issuer,
      Audience: CLIENT_ID,
      AssumedRoleUser: { Arn: 'arn:aws:sts:::assumed-role/readwrite/sdk-session' },
    });
    const c = answer.Credentials!;
    expect(c.Expiration).toBeInstanceOf(Date);
    expect(secondsLeft(c.Expiration!)).toBeGreaterThan(880);
    expect(secondsLeft(c.Expiration!)).toBeLessThanOrEqual(900);

    const s3 = asSession(fromSdk(c));
    const bytes = pseudoRandom(200_000, 21);
    await s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'sdk/object.bin', Body: bytes }));
    expect((await objectBytes(s3, DATA, 'sdk/object.bin')).equals(bytes)).toBe(true);
    expect((await objectBytes(root, DATA, 'sdk/object.bin')).equals(bytes)).toBe(true);
  });

  test('Sts_sdkTokenFile: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN drive fromTokenFile; an S3Client with that provider round-trips', async () => {
    const tokenFile = path.join(env.work, 'web-identity-token');
    await writeFile(tokenFile, await tokenOf('pod-user', ['readwrite']));
    const saved = { file: process.env.AWS_WEB_IDENTITY_TOKEN_FILE, arn: process.env.AWS_ROLE_ARN, name: process.env.AWS_ROLE_SESSION_NAME };
    // As a Kubernetes pod gets them (IRSA-style): the provider reads both from the environment.
    Object.assign(process.env, { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam:::role/readwrite', AWS_ROLE_SESSION_NAME: 'pod-session' });
    try {
      const provider = fromTokenFile({ clientConfig: { endpoint: env.url, region: 'us-east-1', maxAttempts: 1 } });
      const resolved = await provider();
      expect(resolved.accessKeyId).toMatch(/^ASIA/);
      expect(resolved.sessionToken).toBeTruthy();
      expect(resolved.expiration).toBeInstanceOf(Date);
      const s3 = keep(s3Client(env.url, undefined, { credentials: fromTokenFile({ clientConfig: { endpoint: env.url, region: 'us-east-1' } }), maxAttempts: 1 }));
      const bytes = pseudoRandom(70_000, 31);
      await s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'pod/object.bin', Body: bytes }));
      expect((await objectBytes(s3, DATA, 'pod/object.bin')).equals(bytes)).toBe(true);
      expect((await objectBytes(root, DATA, 'pod/object.bin')).equals(bytes)).toBe(true);
    } finally {
      for (const [name, value] of [['AWS_WEB_IDENTITY_TOKEN_FILE', saved.file], ['AWS_ROLE_ARN', saved.arn], ['AWS_ROLE_SESSION_NAME', saved.name]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('Sts_sdkRefusal: the SDK sees STS refusals by their code and status (AccessDenied 403, ValidationError 400)', async () => {
    const unmapped = await sts().send(new AssumeRoleWithWebIdentityCommand({
      RoleArn: 'arn:aws:iam:::role/readwrite', RoleSessionName: 'sdk-session', WebIdentityToken: await tokenOf('sdk-nobody', ['default-roles-rfs']),
    })).then(() => undefined, (e: unknown) => e);
    expect(unmapped).toBeInstanceOf(STSServiceException);
    expect([(unmapped as STSServiceException).name, (unmapped as STSServiceException).$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);
    const tooShort = await sts().send(new AssumeRoleWithWebIdentityCommand({
      RoleArn: 'arn:aws:iam:::role/readwrite', RoleSessionName: 'sdk-session', WebIdentityToken: await tokenOf('sdk-user', ['readwrite']), DurationSeconds: 899,
    })).then(() => undefined, (e: unknown) => e);
    expect([(tooShort as STSServiceException).name, (tooShort as STSServiceException).$metadata.httpStatusCode]).toEqual(['ValidationError', 400]);
  });

  // Real STS clients sign STS calls for the service `sts` (`…/us-east-1/sts/aws4_request`).
  test('Sts_sdkGetCallerIdentity: signed with the session (service sts), GetCallerIdentity names the assumed role', async () => {
    const c = await assumeWithToken(env.url, await tokenOf('sdk-user', ['readwrite']), 'readwrite', { RoleSessionName: 'whoami' });
    const signed = keep(new STSClient({
      endpoint: env.url, region: 'us-east-1', maxAttempts: 1,
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken },
    }));
    const who = await signed.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe('arn:aws:sts:::assumed-role/readwrite/whoami');
    expect(who.UserId).toMatch(/^AROA[A-Z2-7]{17}:whoami$/);
  });

  test('Sts_sdkAssumeRole: a user with long-lived keys assumes a role attached to it (AssumeRole, signed with service sts)', async () => {
    await env.admin.call('POST', 'users', { name: 'batch', policies: ['readonly'] });
    const keys = await env.admin.call<{ accessKeyId: string; secretKey: string }>('POST', 'users/batch/keys');
    const signed = keep(new STSClient({
      endpoint: env.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretKey },
    }));
    const answer = await signed.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam:::role/readonly', RoleSessionName: 'nightly' }));
    const s3 = asSession(fromSdk(answer.Credentials));
    expect(await text(s3, DATA, 'seed.txt')).toBe('seeded by root');
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'batch', Body: 'x' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
  });
});

describeBoto3(`boto3 (${python.version ?? 'not installed'}): assume_role_with_web_identity, then s3 with the session`, () => {
  test('Sts_boto3: sts.assume_role_with_web_identity with endpoint_url; put/get round-trip with the credentials; another bucket is AccessDenied', async () => {
    const upload = path.join(env.work, 'boto3-up.bin');
    const download = path.join(env.work, 'boto3-down.bin');
    const bytes = pseudoRandom(150_000, 41);
    await writeFile(upload, bytes);
    const out = await runBoto3(python.bin!, {
      RFS_ENDPOINT: env.url,
      RFS_ROLE_ARN: 'arn:aws:iam:::role/sts-team',
      RFS_WEB_IDENTITY_TOKEN: await tokenOf('boto3-user', ['sts-team', 'offline_access']),
      RFS_BUCKET: TEAM,
      RFS_OTHER_BUCKET: OTHER,
      RFS_KEY: 'boto3/object.bin',
      RFS_UPLOAD: upload,
      RFS_DOWNLOAD: download,
    });
    expect(out).toMatchObject({
      accessKeyId: expect.stringMatching(/^ASIA/),
      assumedRoleArn: 'arn:aws:sts:::assumed-role/sts-team/boto3-session',
      subject: env.realm.subjectOf('boto3-user'),
      provider: env.realm.issuer,
      audience: CLIENT_ID,
      otherBucket: { code: 'AccessDenied', status: 403 },
    });
    expect(secondsLeft(out.expiration)).toBeGreaterThan(880);
    expect(secondsLeft(out.expiration)).toBeLessThanOrEqual(900);
    expect((await readFile(download)).equals(bytes)).toBe(true);
    expect((await objectBytes(root, TEAM, 'boto3/object.bin')).equals(bytes)).toBe(true);
    expect(await text(root, OTHER, 'seed.txt')).toBe('not for the team'); // the refused write changed nothing
  });
});

describe("the token's roles pick the named policies that bound the session", () => {
  test('Sts_readonlyRole: a user with only the readonly role can GET and list; PutObject is 403 AccessDenied', async () => {
    const s3 = asSession(await assumeWithToken(env.url, await tokenOf('reader', ['readonly', 'default-roles-rfs']), 'readonly'));
    expect(await text(s3, DATA, 'seed.txt')).toBe('seeded by root');
    expect((await s3.send(new ListObjectsV2Command({ Bucket: DATA }))).Contents?.map((o) => o.Key)).toContain('seed.txt');
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'reader-was-here', Body: 'x' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await s3Error(objectBytes(root, DATA, 'reader-was-here'))).toMatchObject({ name: 'NoSuchKey', status: 404 });
  });

  test('Sts_roleArn: the RoleArn picks one of the mapped roles; a RoleArn the token does not hold gives all of them', async () => {
    const token = await tokenOf('picker', ['readonly', 'readwrite']);
    const narrowed = asSession(await assumeWithToken(env.url, token, 'readonly'));
    expect(await s3Error(narrowed.send(new PutObjectCommand({ Bucket: DATA, Key: 'picker', Body: 'x' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    const wide = asSession(await assumeWithToken(env.url, token, 'readwrite'));
    await wide.send(new PutObjectCommand({ Bucket: DATA, Key: 'picker', Body: 'written' }));
    expect(await text(root, DATA, 'picker')).toBe('written');
    // `admin` is not among the token's roles: the session gets what the roles it holds allow, no more.
    const all = await stsPost(env.url, { Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam:::role/admin', RoleSessionName: 'x1', WebIdentityToken: token });
    expect(all.status).toBe(200);
    const s3 = asSession(all.result!.Credentials);
    await s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'picker', Body: 'again' }));
    expect(await text(root, DATA, 'picker')).toBe('again');
  });

  test('Sts_unmappedRole: roles that name no existing policy are STS AccessDenied (403, STS XML, nothing issued)', async () => {
    const answer = await stsPost(env.url, {
      Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam:::role/no-such-policy', RoleSessionName: 'x1',
      WebIdentityToken: await tokenOf('stranger', ['no-such-policy', 'offline_access']),
    });
    expect(answer).toMatchObject({
      status: 403,
      contentType: expect.stringMatching(/^text\/xml/),
      xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
      error: { Type: 'Sender', Code: 'AccessDenied', Message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity' },
    });
    expect(answer.result).toBeUndefined();
  });

  test('Sts_scopedPolicy: a role mapped to a policy scoped to one bucket works there; every other bucket is AccessDenied', async () => {
    const s3 = asSession(await assumeWithToken(env.url, await tokenOf('teammate', ['sts-team']), 'sts-team'));
    await s3.send(new PutObjectCommand({ Bucket: TEAM, Key: 'notes.txt', Body: 'team notes' }));
    expect(await text(s3, TEAM, 'notes.txt')).toBe('team notes');
    for (const attempt of [
      () => s3.send(new GetObjectCommand({ Bucket: OTHER, Key: 'seed.txt' })),
      () => s3.send(new PutObjectCommand({ Bucket: OTHER, Key: 'teammate', Body: 'x' })),
      () => s3.send(new ListObjectsV2Command({ Bucket: OTHER })),
      () => s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'teammate', Body: 'x' })),
    ]) {
      expect(await s3Error(attempt())).toMatchObject({ name: 'AccessDenied', status: 403 });
    }
  });
});

describe('an inline session Policy can only narrow', () => {
  test('Sts_inlinePolicy: readwrite role + a Policy allowing only s3:GetObject: GET works, PutObject is 403 AccessDenied', async () => {
    const answer = await keep(new STSClient({ endpoint: env.url, region: 'us-east-1', maxAttempts: 1 })).send(new AssumeRoleWithWebIdentityCommand({
      RoleArn: 'arn:aws:iam:::role/readwrite', RoleSessionName: 'narrow', WebIdentityToken: await tokenOf('narrow-user', ['readwrite']), Policy: ONLY_GET,
    }));
    expect(answer.PackedPolicySize).toBeGreaterThan(0);
    const s3 = asSession(fromSdk(answer.Credentials));
    expect(await text(s3, DATA, 'seed.txt')).toBe('seeded by root');
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'narrow', Body: 'x' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    // Listing is s3:ListBucket, which the inline policy does not allow either.
    expect(await s3Error(s3.send(new ListObjectsV2Command({ Bucket: DATA })))).toMatchObject({ name: 'AccessDenied', status: 403 });
  });

  test('Sts_inlinePolicyWider: an inline Policy allowing more than the role does not widen it (readonly + s3:* still cannot write)', async () => {
    const everything = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
    const s3 = asSession(await assumeWithToken(env.url, await tokenOf('reader', ['readonly']), 'readonly', { Policy: everything }));
    expect(await text(s3, DATA, 'seed.txt')).toBe('seeded by root');
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'wider', Body: 'x' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
  });

  test('Sts_inlinePolicyMalformed: a Policy that is not a policy is MalformedPolicyDocument (400)', async () => {
    const answer = await stsPost(env.url, {
      Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam:::role/readwrite', RoleSessionName: 'x1',
      WebIdentityToken: await tokenOf('narrow-user', ['readwrite']), Policy: '{"Statement": "nope"}',
    });
    expect([answer.status, answer.error?.Code]).toEqual([400, 'MalformedPolicyDocument']);
  });
});

describe('session credentials: keys, token and expiry belong together', () => {
  let a: StsCredentials;
  let b: StsCredentials;
  beforeAll(async () => {
    a = await assumeWithToken(env.url, await tokenOf('session-a', ['readwrite']));
    b = await assumeWithToken(env.url, await tokenOf('session-b', ['readwrite']));
  });

  test('Sts_sessionWorks: with keys and token together, the session reads', async () => {
    expect(await text(asSession(a), DATA, 'seed.txt')).toBe('seeded by root');
  });

  test('Sts_noToken: session keys without x-amz-security-token are refused as AWS refuses them: 403 InvalidAccessKeyId', async () => {
    const s3 = asSession(a, { sessionToken: null });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: DATA, Key: 'seed.txt' })))).toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'no-token', Body: 'x' })))).toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
  });

  test("Sts_otherToken: keys of session A with the token of session B are 400 InvalidToken", async () => {
    const s3 = asSession(a, { sessionToken: b.SessionToken });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: DATA, Key: 'seed.txt' })))).toMatchObject({ name: 'InvalidToken', status: 400 });
    // And a token with one character changed.
    const damaged = a.SessionToken.slice(0, 40) + (a.SessionToken[40] === 'A' ? 'B' : 'A') + a.SessionToken.slice(41);
    expect(await s3Error(asSession(a, { sessionToken: damaged }).send(new GetObjectCommand({ Bucket: DATA, Key: 'seed.txt' }))))
      .toMatchObject({ name: 'InvalidToken', status: 400 });
  });

  test('Sts_expired: the same session once past its Expiration is 400 ExpiredToken (sealed by the gateway\'s own key)', async () => {
    // 900 s is the shortest session STS issues: the session is re-sealed, as the gateway seals it, with an end in the past.
    const box = env.server.rfs!.services.box;
    const record = openSession(box, a.SessionToken, a.AccessKeyId);
    const ended = issueSession(box, { ...record, expiresAt: Date.now() - 1000 });
    const s3 = asSession(a, { sessionToken: ended });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: DATA, Key: 'seed.txt' })))).toMatchObject({ name: 'ExpiredToken', status: 400 });
    // Re-sealed with its real end, the same keys work: only the expiry was refused.
    expect(await text(asSession(a, { sessionToken: issueSession(box, record) }), DATA, 'seed.txt')).toBe('seeded by root');
  });

  test('Sts_duration: DurationSeconds below 900 or above RFS_STS_MAX_SECONDS is ValidationError (400)', async () => {
    const token = await tokenOf('session-a', ['readwrite']);
    for (const seconds of ['899', String(STS_MAX_SECONDS + 1)]) {
      const answer = await stsPost(env.url, {
        Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam:::role/readwrite', RoleSessionName: 'x1', WebIdentityToken: token, DurationSeconds: seconds,
      });
      expect([answer.status, answer.error?.Code]).toEqual([400, 'ValidationError']);
    }
    const longest = await assumeWithToken(env.url, token, 'readwrite', { DurationSeconds: String(STS_MAX_SECONDS) });
    expect(secondsLeft(longest.Expiration)).toBeGreaterThan(STS_MAX_SECONDS - 20);
  });
});

describe('revocation through the admin API takes effect on the next request', () => {
  const readSeed = (s3: S3Client) => s3.send(new GetObjectCommand({ Bucket: DATA, Key: 'seed.txt' }));

  test('Sts_revokeSessions: POST /_rfs/admin/users/:name/revoke-sessions (root-signed) ends every session issued so far; a new sign-in works', async () => {
    const token = await tokenOf('revoked', ['readwrite']);
    const [one, two] = [asSession(await assumeWithToken(env.url, token)), asSession(await assumeWithToken(env.url, token))];
    expect(await text(one, DATA, 'seed.txt')).toBe('seeded by root');
    expect(await text(two, DATA, 'seed.txt')).toBe('seeded by root');
    const user = await env.admin.call<{ name: string; source: string }>('POST', env.adminUserPath('revoked', 'revoke-sessions'));
    expect(user).toMatchObject({ name: env.userNameOf('revoked'), source: 'oidc' });
    for (const s3 of [one, two]) {
      expect(await s3Error(readSeed(s3))).toMatchObject({ name: 'InvalidToken', status: 400, message: 'The security token included in the request has been revoked.' });
    }
    const fresh = asSession(await assumeWithToken(env.url, token));
    expect(await text(fresh, DATA, 'seed.txt')).toBe('seeded by root');
    expect(await s3Error(readSeed(one))).toMatchObject({ name: 'InvalidToken', status: 400 });
  });

  test('Sts_disableUser: disabling the oidc user ends its sessions for good and refuses its sign-ins (STS AccessDenied); enabled again, it signs in anew', async () => {
    const token = await tokenOf('disabled', ['readwrite']);
    const s3 = asSession(await assumeWithToken(env.url, token));
    expect(await text(s3, DATA, 'seed.txt')).toBe('seeded by root');
    await env.admin.call('PATCH', env.adminUserPath('disabled'), { disabled: true });
    expect(await s3Error(readSeed(s3))).toMatchObject({ name: 'InvalidToken', status: 400 });
    const refused = await stsPost(env.url, { Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam:::role/readwrite', RoleSessionName: 'x1', WebIdentityToken: token });
    expect([refused.status, refused.error?.Code]).toEqual([403, 'AccessDenied']);
    await env.admin.call('PATCH', env.adminUserPath('disabled'), { disabled: false });
    expect(await s3Error(readSeed(s3))).toMatchObject({ name: 'InvalidToken', status: 400 }); // the old session stays ended
    expect(await text(asSession(await assumeWithToken(env.url, token)), DATA, 'seed.txt')).toBe('seeded by root');
  });

  test('Sts_deleteUser: deleting the oidc user ends its sessions; its next sign-in makes it anew and the new session works at once', async () => {
    const token = await tokenOf('deleted', ['readwrite']);
    const old = asSession(await assumeWithToken(env.url, token));
    expect(await text(old, DATA, 'seed.txt')).toBe('seeded by root');
    await env.admin.call('DELETE', env.adminUserPath('deleted'));
    expect(await s3Error(readSeed(old))).toMatchObject({ name: 'InvalidToken', status: 400 });
    // Once the deletion's announcement has come back over the change bus, the gateway's IAM
    // cache holds "no such user" for the name: the sign-in that makes the user again must drop it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await s3Error(readSeed(old))).toMatchObject({ name: 'InvalidToken', status: 400 });
    const fresh = asSession(await assumeWithToken(env.url, token));
    expect(await text(fresh, DATA, 'seed.txt')).toBe('seeded by root');
  });
});

describe('presigned URLs made with session credentials', () => {
  test('Sts_presigned: the URL carries X-Amz-Security-Token and GETs the bytes; without that parameter it is 403', async () => {
    const creds = await assumeWithToken(env.url, await tokenOf('presigner', ['readwrite']));
    const s3 = asSession(creds);
    const bytes = pseudoRandom(100_000, 51);
    await s3.send(new PutObjectCommand({ Bucket: DATA, Key: 'presigned/object.bin', Body: bytes }));
    const url = new URL(await getSignedUrl(s3, new GetObjectCommand({ Bucket: DATA, Key: 'presigned/object.bin' }), { expiresIn: 300 }));
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(creds.SessionToken);
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(new RegExp(`^${creds.AccessKeyId}/`));

    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(bytes)).toBe(true);

    const stripped = new URL(url);
    stripped.searchParams.delete('X-Amz-Security-Token');
    const refused = await fetch(stripped);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('<Code>InvalidAccessKeyId</Code>');

    const otherToken = new URL(url);
    otherToken.searchParams.set('X-Amz-Security-Token', (await assumeWithToken(env.url, await tokenOf('presigner', ['readwrite']))).SessionToken);
    const mismatched = await fetch(otherToken);
    expect(mismatched.status).toBe(400);
    expect(await mismatched.text()).toContain('<Code>InvalidToken</Code>');
  });
});

describe('attacks through the STS endpoint are InvalidIdentityToken, and issue nothing', () => {
  const attempt = (token: string) =>
    stsPost(env.url, { Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam:::role/admin', RoleSessionName: 'attacker', WebIdentityToken: token });

  test('Sts_algNone: an unsigned token (alg none) with a real user\'s admin claims is 400 InvalidIdentityToken in STS XML', async () => {
    const claims = jose.decodeJwt(await tokenOf('victim', ['admin']));
    const hostile = await hostileTokens(env.realm, claims);
    for (const name of ['algNone', 'hs256WithPublicKey', 'forgedSignature'] as const) {
      const answer = await attempt(hostile[name]);
      expect({ name, status: answer.status, type: answer.error?.Type, code: answer.error?.Code, xmlns: answer.xmlns }).toEqual({
        name, status: 400, type: 'Sender', code: 'InvalidIdentityToken', xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
      });
    }
  });

  test('Sts_otherIssuer: a real token from another provider (another issuer) is 400 InvalidIdentityToken; no user is made for it', async () => {
    const foreign = await env.otherRealm.signIn('intruder', ['admin', 'readwrite']);
    for (const token of [foreign.accessToken, foreign.idToken]) {
      const answer = await attempt(token);
      expect([answer.status, answer.error?.Code]).toEqual([400, 'InvalidIdentityToken']);
      expect(answer.error?.Message).toBe(`No OpenIDConnect provider found in your account for ${env.otherRealm.issuer}`);
    }
    const { users } = await env.admin.get<{ users: { name: string }[] }>('users');
    expect(users.map((u) => u.name).filter((n) => n.includes(env.otherRealm.subjectOf('intruder')))).toEqual([]);
  });

  test('Sts_expiredIdentityToken: an expired Keycloak token is 400 ExpiredTokenException', async () => {
    const hostile = await hostileTokens(env.realm, jose.decodeJwt(await tokenOf('victim', ['admin'])));
    const answer = await attempt(hostile.expired);
    expect([answer.status, answer.error?.Code]).toEqual([400, 'ExpiredTokenException']);
  });
});
