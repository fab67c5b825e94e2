import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import { XMLParser } from 'fast-xml-parser';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { hostileTokens, startKeycloakLookalike, type KeycloakLookalike } from '../../test-compat/oidc/keycloak-lookalike';
import { createTestDatabase } from '../../metadata/pg.testing';
import { PgClient } from '../../metadata/pg-client';
import { SqlMetadataStore } from '../../metadata/sql-store';
import type { IamStore } from '../../metadata/store';
import type { Credential } from '../auth/identity';
import { SecretBox } from '../iam/secret-box';
import { S3Error } from '../protocol/errors';
import { OidcVerifier } from './oidc';
import { openSession } from './session-token';
import { handleSts, oidcUserName, StsError, stsErrorXml, type StsDeps } from './sts';

const POLICY = (action: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });
const box = SecretBox.load({ masterKey: randomBytes(32).toString('hex'), dataDir: '/nonexistent' });
const xml = new XMLParser({ parseTagValue: false, ignoreAttributes: false, attributeNamePrefix: '@' });

let realm: KeycloakLookalike;
let otherRealm: KeycloakLookalike;
let verifier: OidcVerifier;
let store: SqlMetadataStore;
let iam: IamStore;
let db: { drop(): Promise<void> };

beforeAll(async () => {
  [realm, otherRealm] = await Promise.all([startKeycloakLookalike(), startKeycloakLookalike({ realm: 'other' })]);
  verifier = new OidcVerifier({ issuer: realm.issuer, audience: 'rfs-sts', rolesClaim: 'realm_access.roles' });
  const created = await createTestDatabase(`rfs_sts_${process.pid}`);
  db = created;
  store = await SqlMetadataStore.open(new PgClient(created.url));
  iam = store.iam;
  await iam.putPolicy('readwrite', POLICY('s3:*'));
  await iam.putPolicy('readonly', POLICY('s3:Get*'));
  await iam.putPolicy('admin', POLICY('*'));
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
  await Promise.all([realm?.close(), otherRealm?.close()]);
});

function deps(overrides: Partial<StsDeps> = {}): StsDeps {
  return { iam, box, verifier, maxSeconds: 12 * 3600, validatePolicy: () => {}, requestId: 'req-1', ...overrides };
}

const webIdentity = (token: string, extra: Record<string, string> = {}) =>
  new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: 'arn:aws:iam::123456789012:role/readwrite', RoleSessionName: 'laptop', WebIdentityToken: token, ...extra });

const assumeRoleParams = (extra: Record<string, string> = {}) =>
  new URLSearchParams({ Action: 'AssumeRole', Version: '2011-06-15', RoleArn: 'arn:aws:iam:::role/readonly', RoleSessionName: 'batch-job', ...extra });

/** The StsError a call ends in. */
async function refusal(call: Promise<unknown>): Promise<StsError> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof StsError)) throw new Error(`expected an StsError, got ${String(error)}`);
  return error;
}

interface IssuedCredentials { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: string }

/** The result element of an STS answer, after checking the envelope. */
function resultOf(answer: string, action: string): Record<string, unknown> & { Credentials: IssuedCredentials } {
  const doc = xml.parse(answer);
  const response = doc[`${action}Response`];
  expect(response['@xmlns']).toBe('https://sts.amazonaws.com/doc/2011-06-15/');
  expect(response.ResponseMetadata.RequestId).toBe('req-1');
  return response[`${action}Result`];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('AssumeRoleWithWebIdentity', () => {
  test('AssumeRoleWithWebIdentity_firstSignIn: makes the oidc user and issues credentials bound by its mapped roles', async () => {
    const { accessToken } = await realm.signIn('alice', ['readwrite', 'offline_access', 'default-roles-rfs']);
    const before = Date.now();
    const result = resultOf(await handleSts(webIdentity(accessToken), undefined, deps()), 'AssumeRoleWithWebIdentity');
    const subject = realm.subjectOf('alice');
    const name = oidcUserName(realm.issuer, subject);
    expect(name).toBe(`${new URL(realm.issuer).host}/realms/rfs/${subject}`);
    expect(result).toMatchObject({
      SubjectFromWebIdentityToken: subject,
      Provider: realm.issuer,
      Audience: 'rfs-sts',
      AssumedRoleUser: { Arn: 'arn:aws:sts:::assumed-role/readwrite/laptop', AssumedRoleId: expect.stringMatching(/^AROA[A-Z2-7]{17}:laptop$/) },
    });
    const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = result.Credentials;
    expect(AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const user = await iam.getUserById(sha256(`${realm.issuer}\n${subject}`));
    expect(user).toMatchObject({ name, source: 'oidc', policies: ['readwrite'], disabled: false });
    const session = openSession(box, SessionToken, AccessKeyId);
    expect(session).toEqual({
      kind: 'web-identity', policies: ['readwrite'], roleArn: 'arn:aws:iam::123456789012:role/readwrite', sessionName: 'laptop',
      subject, issuedAt: session.issuedAt, expiresAt: Math.floor(session.issuedAt / 1000) * 1000 + 3600_000,
      accessKeyId: AccessKeyId, secretKey: SecretAccessKey, user: name, owner: user!.id, displayName: name,
    });
    expect(new Date(Expiration).getTime()).toBe(session.expiresAt);
    // Not before the user was made (by the database's clock): the gateway would take it for revoked.
    expect(session.issuedAt).toBeGreaterThanOrEqual(Math.max(before, user!.sessionsValidAfter.getTime()));
  });

  test('AssumeRoleWithWebIdentity_roleMapping: the RoleArn picks one mapped role; otherwise all of them bound the session', async () => {
    const { idToken } = await realm.signIn('bob', ['readwrite', 'readonly', 'not-a-policy']);
    const narrowed = resultOf(await handleSts(webIdentity(idToken, { RoleArn: 'arn:aws:iam:::role/readonly' }), undefined, deps()), 'AssumeRoleWithWebIdentity');
    expect(openSession(box, narrowed.Credentials.SessionToken, narrowed.Credentials.AccessKeyId).policies).toEqual(['readonly']);
    const all = resultOf(await handleSts(webIdentity(idToken, { RoleArn: 'arn:aws:iam:::role/admin' }), undefined, deps()), 'AssumeRoleWithWebIdentity');
    expect(openSession(box, all.Credentials.SessionToken, all.Credentials.AccessKeyId).policies.sort()).toEqual(['readonly', 'readwrite']);
    const user = await iam.getUser(oidcUserName(realm.issuer, realm.subjectOf('bob')));
    expect(user!.policies.sort()).toEqual(['readonly', 'readwrite']);
  });

  test('AssumeRoleWithWebIdentity_rolesChange: the next sign-in updates the same user; no mapped role is AccessDenied', async () => {
    await handleSts(webIdentity((await realm.signIn('carol', ['readwrite'])).accessToken), undefined, deps());
    const name = oidcUserName(realm.issuer, realm.subjectOf('carol'));
    const id = (await iam.getUser(name))!.id;
    const changed = jest.fn(async () => {});
    await handleSts(webIdentity((await realm.signIn('carol', ['admin'])).accessToken), undefined, deps({ iamChanged: changed }));
    expect(await iam.getUser(name)).toMatchObject({ id, policies: ['admin'] });
    expect(changed).toHaveBeenCalledTimes(1);
    const denied = await refusal(handleSts(webIdentity((await realm.signIn('carol', ['offline_access'])).accessToken), undefined, deps()));
    expect([denied.code, denied.status, denied.message]).toEqual(['AccessDenied', 403, 'Not authorized to perform sts:AssumeRoleWithWebIdentity']);
  });

  test('AssumeRoleWithWebIdentity_disabledUser: AccessDenied', async () => {
    const { accessToken } = await realm.signIn('dave', ['readwrite']);
    await handleSts(webIdentity(accessToken), undefined, deps());
    await iam.updateUser(oidcUserName(realm.issuer, realm.subjectOf('dave')), { disabled: true });
    expect((await refusal(handleSts(webIdentity(accessToken), undefined, deps()))).code).toBe('AccessDenied');
  });

  test('AssumeRoleWithWebIdentity_unregisteredProvider: no verifier, or a token of another issuer, is InvalidIdentityToken', async () => {
    const { accessToken } = await otherRealm.signIn('mallory', ['admin']);
    for (const d of [deps({ verifier: undefined }), deps()]) {
      const error = await refusal(handleSts(webIdentity(accessToken), undefined, d));
      expect([error.code, error.message]).toEqual(['InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${otherRealm.issuer}`]);
    }
  });

  test('AssumeRoleWithWebIdentity_attacks: hostile tokens are refused before any user is made', async () => {
    const { accessToken } = await realm.signIn('erin', ['admin']);
    await verifier.verify(accessToken); // keys cached, as on a running gateway
    const tokens = await hostileTokens(realm, jose.decodeJwt(accessToken));
    const users = (await iam.listUsers()).length;
    const codes = Object.fromEntries(await Promise.all(Object.entries(tokens).map(async ([name, token]) =>
      [name, (await refusal(handleSts(webIdentity(token), undefined, deps()))).code])));
    expect(codes).toEqual({
      algNone: 'InvalidIdentityToken', hs256WithPublicKey: 'InvalidIdentityToken', wrongIssuer: 'InvalidIdentityToken',
      wrongAudience: 'InvalidIdentityToken', expired: 'ExpiredTokenException', notYetValid: 'InvalidIdentityToken',
      issuedInFuture: 'InvalidIdentityToken', unknownKid: 'InvalidIdentityToken', forgedSignature: 'InvalidIdentityToken',
      noSubject: 'InvalidIdentityToken', notAJwt: 'InvalidIdentityToken',
    });
    expect((await iam.listUsers()).length).toBe(users);
  });

  test('AssumeRoleWithWebIdentity_parameters: missing, malformed and out-of-range parameters', async () => {
    const { accessToken } = await realm.signIn('frank', ['readwrite']);
    const code = async (params: URLSearchParams, d = deps()) => (await refusal(handleSts(params, undefined, d))).code;
    for (const name of ['WebIdentityToken', 'RoleArn', 'RoleSessionName']) {
      const params = webIdentity(accessToken);
      params.delete(name);
      expect([name, await code(params)]).toEqual([name, 'MissingParameter']);
    }
    for (const roleArn of ['readwrite', 'arn:aws:iam::123:role/readwrite', 'arn:aws:iam::123456789012:user/readwrite', 'arn:aws:iam:::role/']) {
      expect([roleArn, await code(webIdentity(accessToken, { RoleArn: roleArn }))]).toEqual([roleArn, 'ValidationError']);
    }
    for (const sessionName of ['x', 'has space', 'a'.repeat(65), 'slash/es']) {
      expect([sessionName, await code(webIdentity(accessToken, { RoleSessionName: sessionName }))]).toEqual([sessionName, 'ValidationError']);
    }
    for (const duration of ['899', '43201', 'abc', '-1', '1e4']) {
      expect([duration, await code(webIdentity(accessToken, { DurationSeconds: duration }))]).toEqual([duration, 'ValidationError']);
    }
    expect(await code(webIdentity(accessToken, { DurationSeconds: '3600' }), deps({ maxSeconds: 1800 }))).toBe('ValidationError');
    const now = Date.now();
    const shortest = resultOf(await handleSts(webIdentity(accessToken, { DurationSeconds: '900', RoleArn: 'arn:aws:iam:::role/path/to/readwrite' }), undefined, deps({ now: () => now })), 'AssumeRoleWithWebIdentity');
    expect(new Date(shortest.Credentials.Expiration).getTime()).toBe(Math.floor(now / 1000) * 1000 + 900_000);
    const longest = resultOf(await handleSts(webIdentity(accessToken, { DurationSeconds: '43200' }), undefined, deps()), 'AssumeRoleWithWebIdentity');
    expect(longest.Credentials.AccessKeyId).toMatch(/^ASIA/);
  });

  test('AssumeRoleWithWebIdentity_inlinePolicy: validated, kept in the session, its packed size answered; too large or malformed refused', async () => {
    const { accessToken } = await realm.signIn('grace', ['readwrite']);
    const policy = POLICY('s3:GetObject');
    const validatePolicy = jest.fn();
    const result = resultOf(await handleSts(webIdentity(accessToken, { Policy: policy }), undefined, deps({ validatePolicy })), 'AssumeRoleWithWebIdentity');
    expect(validatePolicy).toHaveBeenCalledWith(policy);
    expect(result.PackedPolicySize).toBe(String(Math.ceil((policy.length / 2048) * 100)));
    expect(openSession(box, result.Credentials.SessionToken, result.Credentials.AccessKeyId).inlinePolicy).toBe(policy);

    const malformed = await refusal(handleSts(webIdentity(accessToken, { Policy: '{"Statement":' }), undefined, deps({
      validatePolicy: () => { throw new S3Error('MalformedPolicy', 'Policies must be valid JSON'); },
    })));
    expect([malformed.code, malformed.message]).toEqual(['MalformedPolicyDocument', 'Policies must be valid JSON']);

    validatePolicy.mockClear();
    const large = await refusal(handleSts(webIdentity(accessToken, { Policy: ' '.repeat(2049) }), undefined, deps({ validatePolicy })));
    expect(large.code).toBe('PackedPolicyTooLarge');
    expect(validatePolicy).not.toHaveBeenCalled();
  });
});

describe('AssumeRole', () => {
  let bob: Credential;
  beforeAll(async () => {
    await iam.createUser({ name: 'bob', id: sha256('bob'), userId: 'AIDABOB00000000000000', source: 'local', policies: ['readonly', 'gone'] });
    bob = { accessKeyId: 'AKIABOB', secretKey: 'secret', owner: sha256('bob'), displayName: 'bob', user: 'bob' };
  });

  test('AssumeRole_attachedRole: a user assumes a named policy attached to it', async () => {
    const now = Date.now();
    const result = resultOf(await handleSts(assumeRoleParams({ DurationSeconds: '1200' }), bob, deps({ now: () => now })), 'AssumeRole');
    expect(result.AssumedRoleUser).toEqual({ Arn: 'arn:aws:sts:::assumed-role/readonly/batch-job', AssumedRoleId: 'AIDABOB00000000000000:batch-job' });
    const { AccessKeyId, SessionToken } = result.Credentials;
    expect(openSession(box, SessionToken, AccessKeyId, now)).toMatchObject({
      kind: 'assume-role', policies: ['readonly'], roleArn: 'arn:aws:iam:::role/readonly', sessionName: 'batch-job',
      user: 'bob', owner: sha256('bob'), displayName: 'bob', issuedAt: now, expiresAt: Math.floor(now / 1000) * 1000 + 1200_000,
    });
    expect(openSession(box, SessionToken, AccessKeyId, now).subject).toBeUndefined();
  });

  test('AssumeRole_refusals: a role not attached or not existing, root, sessions, anonymous and disabled users are AccessDenied', async () => {
    const code = async (caller: Credential | undefined, params = assumeRoleParams()) => (await refusal(handleSts(params, caller, deps()))).code;
    expect(await code(bob, assumeRoleParams({ RoleArn: 'arn:aws:iam:::role/readwrite' }))).toBe('AccessDenied'); // exists, not attached
    expect(await code(bob, assumeRoleParams({ RoleArn: 'arn:aws:iam:::role/gone' }))).toBe('AccessDenied'); // attached, no such policy
    expect(await code(undefined)).toBe('AccessDenied');
    const root: Credential = { accessKeyId: 'AKIAROOT', secretKey: 's', owner: sha256('root'), displayName: 'root' };
    const rootRefusal = await refusal(handleSts(assumeRoleParams(), root, deps()));
    expect(rootRefusal.message).toBe('Roles may not be assumed by root accounts.');
    const session = { ...bob, accessKeyId: 'ASIAXXXXXXXXXXXXXXXX', session: { kind: 'assume-role' as const, policies: ['readonly'], roleArn: 'arn:aws:iam:::role/readonly', sessionName: 's1', issuedAt: 0, expiresAt: Date.now() + 1e6 } };
    expect(await code(session)).toBe('AccessDenied');
    await iam.createUser({ name: 'zed', id: sha256('zed'), userId: 'AIDAZED00000000000000', source: 'local', policies: ['readonly'] });
    await iam.updateUser('zed', { disabled: true });
    expect(await code({ ...bob, user: 'zed', owner: sha256('zed'), displayName: 'zed' })).toBe('AccessDenied');
    expect(await code({ ...bob, user: 'nobody' })).toBe('AccessDenied');
  });

  test('AssumeRole_parameters: the same checks as web identity', async () => {
    const code = async (params: URLSearchParams) => (await refusal(handleSts(params, bob, deps()))).code;
    expect(await code(assumeRoleParams({ RoleSessionName: '!' }))).toBe('ValidationError');
    expect(await code(assumeRoleParams({ DurationSeconds: '60' }))).toBe('ValidationError');
    expect(await code(assumeRoleParams({ Policy: 'x'.repeat(3000) }))).toBe('PackedPolicyTooLarge');
    expect(await code(assumeRoleParams({ 'PolicyArns.member.1.arn': 'arn:aws:iam:::policy/admin' }))).toBe('InvalidParameterValue');
  });

  test('GetCallerIdentity: a user, a session and root; anonymous is refused', async () => {
    const identity = async (caller: Credential) => resultOf(await handleSts(new URLSearchParams({ Action: 'GetCallerIdentity' }), caller, deps()), 'GetCallerIdentity');
    expect(await identity(bob)).toEqual({ Arn: 'arn:aws:iam:::user/bob', UserId: 'AIDABOB00000000000000', Account: '' });
    const session = { ...bob, session: { kind: 'assume-role' as const, policies: ['readonly'], roleArn: 'arn:aws:iam:::role/readonly', sessionName: 'job', issuedAt: 0, expiresAt: 0 } };
    expect(await identity(session)).toEqual({ Arn: 'arn:aws:sts:::assumed-role/readonly/job', UserId: 'AIDABOB00000000000000:job', Account: '' });
    expect((await identity({ accessKeyId: 'AKIAROOT', secretKey: 's', owner: 'o'.repeat(64), displayName: 'root' })).Arn).toBe('arn:aws:iam:::root');
    expect((await refusal(handleSts(new URLSearchParams({ Action: 'GetCallerIdentity' }), undefined, deps()))).code).toBe('AccessDenied');
  });
});

test('Sts_actions: unknown action, missing action, another API version', async () => {
  const code = async (params: Record<string, string>) => (await refusal(handleSts(new URLSearchParams(params), undefined, deps()))).code;
  expect(await code({ Action: 'GetSessionToken' })).toBe('InvalidAction');
  expect(await code({ Action: 'DeleteEverything', Version: '2011-06-15' })).toBe('InvalidAction');
  expect(await code({ Action: 'AssumeRoleWithWebIdentity', Version: '2006-03-01' })).toBe('InvalidAction');
  expect(await code({})).toBe('MissingParameter');
});

test('stsErrorXml: AWS STS error document', () => {
  const doc = xml.parse(stsErrorXml(new StsError('InvalidIdentityToken', 'Incorrect token audience'), 'req-9'));
  expect(doc.ErrorResponse).toEqual({
    '@xmlns': 'https://sts.amazonaws.com/doc/2011-06-15/',
    Error: { Type: 'Sender', Code: 'InvalidIdentityToken', Message: 'Incorrect token audience' },
    RequestId: 'req-9',
  });
  expect(xml.parse(stsErrorXml(new StsError('InternalFailure', 'x'), 'r')).ErrorResponse.Error.Type).toBe('Receiver');
  expect(new StsError('SignatureDoesNotMatch', 'passed through', 403).status).toBe(403);
});

test('Sts_awsSdk: the AWS SDK reads the answer and the errors', async () => {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', async () => {
      try {
        const answer = await handleSts(new URLSearchParams(body), undefined, deps());
        res.writeHead(200, { 'content-type': 'text/xml' }).end(answer);
      } catch (e) {
        const error = e as StsError;
        res.writeHead(error.status, { 'content-type': 'text/xml' }).end(stsErrorXml(error, 'req-1'));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sts = new STSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  try {
    const { idToken } = await realm.signIn('heidi', ['readonly']);
    const answer = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: 'arn:aws:iam:::role/readonly', RoleSessionName: 'sdk', WebIdentityToken: idToken, DurationSeconds: 900 }));
    expect(answer.Credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(answer.Credentials?.Expiration).toBeInstanceOf(Date);
    expect(answer).toMatchObject({ SubjectFromWebIdentityToken: realm.subjectOf('heidi'), Provider: realm.issuer, Audience: 'rfs-sts', AssumedRoleUser: { Arn: 'arn:aws:sts:::assumed-role/readonly/sdk' } });
    const refused = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: 'arn:aws:iam:::role/readonly', RoleSessionName: 'sdk', WebIdentityToken: 'a.b.c' })).catch((e: unknown) => e);
    // The SDK knows the wire codes as its modelled errors: the codes are AWS's.
    expect(refused).toMatchObject({ name: 'InvalidIdentityTokenException', $metadata: { httpStatusCode: 400 } });
    const { expired } = await hostileTokens(realm, jose.decodeJwt(idToken));
    const late = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: 'arn:aws:iam:::role/readonly', RoleSessionName: 'sdk', WebIdentityToken: expired })).catch((e: unknown) => e);
    expect(late).toMatchObject({ name: 'ExpiredTokenException', $metadata: { httpStatusCode: 400 } });
  } finally {
    sts.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
