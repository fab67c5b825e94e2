import * as jose from 'jose';
import { hostileTokens, startKeycloakLookalike, type HostileTokenName, type KeycloakLookalike } from '../../test-compat/oidc/keycloak-lookalike';
import { StsError } from './errors';
import { OidcVerifier, rolesAt, type OidcVerifierOptions } from './oidc';

let realm: KeycloakLookalike;
beforeAll(async () => {
  realm = await startKeycloakLookalike();
});
afterAll(() => realm.close());

const verifierFor = (options: OidcVerifierOptions = {}, audience: string | undefined = 'rfs-sts') =>
  new OidcVerifier({ issuer: realm.issuer, audience, rolesClaim: 'realm_access.roles' }, options);

/** The StsError a verification ends in. */
async function refusal(verifier: OidcVerifier, token: string): Promise<StsError> {
  const error = await verifier.verify(token).then(() => undefined, (e: unknown) => e);
  if (!(error instanceof StsError)) throw new Error(`expected an StsError, got ${String(error)}`);
  return error;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('OidcVerifier_accessToken: a Keycloak access token (aud=account, azp=rfs-sts) verifies with its roles', async () => {
  const { accessToken } = await realm.signIn('alice', ['readwrite', 'offline_access']);
  const verified = await verifierFor().verify(accessToken);
  expect(verified).toMatchObject({
    issuer: realm.issuer,
    subject: realm.subjectOf('alice'),
    username: 'alice',
    roles: ['readwrite', 'offline_access'],
    audience: 'rfs-sts',
  });
  expect(verified.claims.aud).toBe('account'); // accepted through azp
  expect(Math.abs(verified.expiresAt.getTime() - (Date.now() + 300_000))).toBeLessThan(10_000);
});

test('OidcVerifier_idToken: an ID token (aud=rfs-sts) verifies too', async () => {
  const { idToken } = await realm.signIn('bob', ['readonly']);
  const verified = await verifierFor().verify(idToken);
  expect(verified).toMatchObject({ subject: realm.subjectOf('bob'), username: 'bob', roles: ['readonly'], audience: 'rfs-sts' });
});

test('OidcVerifier_rolesClaim: another claim path, and a missing claim gives no roles', async () => {
  const { accessToken } = await realm.signIn('carol', ['readwrite']);
  const verifier = (rolesClaim: string) => new OidcVerifier({ issuer: realm.issuer, rolesClaim });
  expect((await verifier('resource_access.rfs-sts.roles').verify(accessToken)).roles).toEqual([]);
  expect((await verifier('realm_access').verify(accessToken)).roles).toEqual([]); // an object, not a list
  expect(rolesAt({ groups: ['a', 7, 'b'] }, 'groups')).toEqual(['a', 'b']);
  expect(rolesAt({ role: 'admin' }, 'role')).toEqual(['admin']);
  expect(rolesAt({ a: null }, 'a.b.c')).toEqual([]);
});

test('OidcVerifier_noAudienceConfigured: any audience is taken, and azp is reported', async () => {
  const { accessToken } = await realm.signIn('dave', ['readwrite']);
  expect((await verifierFor({}, undefined).verify(accessToken)).audience).toBe('rfs-sts');
});

const EXPECTED: Record<HostileTokenName, [code: string, message: RegExp]> = {
  algNone: ['InvalidIdentityToken', /asymmetric/],
  hs256WithPublicKey: ['InvalidIdentityToken', /asymmetric/],
  wrongIssuer: ['InvalidIdentityToken', /No OpenIDConnect provider found in your account for http:\/\/127\.0\.0\.1:\d+\/realms\/rfs-evil/],
  wrongAudience: ['InvalidIdentityToken', /^Incorrect token audience$/],
  expired: ['ExpiredTokenException', /Token expired/],
  notYetValid: ['InvalidIdentityToken', /not valid yet/],
  issuedInFuture: ['InvalidIdentityToken', /issued in the future/],
  unknownKid: ['InvalidIdentityToken', /Couldn't retrieve verification key from your identity provider/],
  forgedSignature: ['InvalidIdentityToken', /signature could not be verified/],
  noSubject: ['InvalidIdentityToken', /sub/],
  notAJwt: ['InvalidIdentityToken', /not a valid JWT/],
};

test('OidcVerifier_attacks: every hostile token is refused with AWS STS code, and nothing of it is echoed', async () => {
  const { accessToken } = await realm.signIn('eve', ['admin']);
  const tokens = await hostileTokens(realm, jose.decodeJwt(accessToken));
  const verifier = verifierFor();
  await verifier.verify(accessToken); // keys fetched: the unknown kid below is within the cooldown
  for (const [name, token] of Object.entries(tokens) as [HostileTokenName, string][]) {
    const error = await refusal(verifier, token);
    expect([name, error.code]).toEqual([name, EXPECTED[name][0]]);
    expect(error.message).toMatch(EXPECTED[name][1]);
    expect(error.message).not.toContain(token.slice(0, 20));
    expect(error.message).not.toContain(realm.subjectOf('eve'));
  }
});

test('OidcVerifier_cheapRefusals: tokens refused on their face cost the identity provider no request', async () => {
  const { accessToken } = await realm.signIn('frank', ['readwrite']);
  const tokens = await hostileTokens(realm, jose.decodeJwt(accessToken));
  const verifier = verifierFor();
  const before = [realm.discoveryRequests, realm.jwksRequests];
  for (const name of ['algNone', 'hs256WithPublicKey', 'wrongIssuer', 'notAJwt'] as const) {
    expect((await refusal(verifier, tokens[name])).code).toBe('InvalidIdentityToken');
  }
  expect([realm.discoveryRequests, realm.jwksRequests]).toEqual(before);
});

test('OidcVerifier_unknownKidBurst: a burst of unknown kids fetches the JWKS at most once per cooldown', async () => {
  const cooldownMs = 1500;
  const verifier = verifierFor({ jwksCooldownMs: cooldownMs });
  const { accessToken } = await realm.signIn('grace', ['readwrite']);
  // Signed beforehand (RSA signing is slow), each with a kid of its own that no JWKS has.
  const { privateKey } = await jose.generateKeyPair('RS256');
  const forged = await Promise.all(Array.from({ length: 75 }, (_, i) =>
    new jose.SignJWT(jose.decodeJwt(accessToken)).setProtectedHeader({ alg: 'RS256', kid: `forged-${i}` }).sign(privateKey)));
  const burst = async () => {
    const errors = await Promise.all(forged.splice(0, 25).map((t) => refusal(verifier, t)));
    expect(new Set(errors.map((e) => e.message))).toEqual(new Set([expect.stringMatching(/Couldn't retrieve verification key/)]));
  };
  await verifier.verify(accessToken);
  const fetched = realm.jwksRequests;
  await burst(); // within the cooldown of the first fetch: no refetch
  expect(realm.jwksRequests).toBe(fetched);
  await sleep(cooldownMs + 100);
  await burst(); // after it: one refetch for all 25
  expect(realm.jwksRequests).toBe(fetched + 1);
  await burst(); // and none again within the new cooldown
  expect(realm.jwksRequests).toBe(fetched + 1);
  await verifier.verify(accessToken); // known kid: from the cache
  expect(realm.jwksRequests).toBe(fetched + 1);
});

test('OidcVerifier_keyRotation: new tokens verify after a rotation (one refetch); tokens of the old key are refused', async () => {
  const verifier = verifierFor({ jwksCooldownMs: 200 });
  const old = await realm.signIn('heidi', ['readwrite']);
  await verifier.verify(old.accessToken);
  await realm.rotateKeys();
  await sleep(250);
  const fetched = realm.jwksRequests;
  const fresh = await realm.signIn('heidi', ['readwrite']);
  expect((await verifier.verify(fresh.accessToken)).subject).toBe(realm.subjectOf('heidi'));
  expect(realm.jwksRequests).toBe(fetched + 1);
  const error = await refusal(verifier, old.accessToken);
  expect(error.code).toBe('InvalidIdentityToken');
  expect(error.message).toMatch(/Couldn't retrieve verification key/);
});

test('OidcVerifier_discoveryFailure: IDPCommunicationError while the provider is down, retried once it is back', async () => {
  const { accessToken } = await realm.signIn('ivan', ['readwrite']);
  const verifier = verifierFor();
  realm.down = true;
  try {
    expect((await refusal(verifier, accessToken)).code).toBe('IDPCommunicationError');
    expect((await refusal(verifier, accessToken)).code).toBe('IDPCommunicationError');
  } finally {
    realm.down = false;
  }
  expect((await verifier.verify(accessToken)).username).toBe('ivan');
});

test('OidcVerifier_jwksFailure: known keys keep working while the provider is down; a refetch that fails is IDPCommunicationError', async () => {
  const verifier = verifierFor({ jwksCooldownMs: 0 });
  const { accessToken } = await realm.signIn('judy', ['readwrite']);
  await verifier.verify(accessToken);
  const { unknownKid } = await hostileTokens(realm, jose.decodeJwt(accessToken));
  realm.down = true;
  try {
    expect((await verifier.verify(accessToken)).username).toBe('judy');
    expect((await refusal(verifier, unknownKid)).code).toBe('IDPCommunicationError');
  } finally {
    realm.down = false;
  }
});

test('OidcVerifier_unreachableIssuer: a provider nobody answers for is IDPCommunicationError', async () => {
  const verifier = new OidcVerifier({ issuer: 'http://127.0.0.1:9/realms/rfs', rolesClaim: 'realm_access.roles' }, { timeoutMs: 2000 });
  const token = await new jose.SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).setIssuer('http://127.0.0.1:9/realms/rfs')
    .setExpirationTime('5m').sign((await jose.generateKeyPair('RS256')).privateKey);
  const error = await refusal(verifier, token);
  expect(error.code).toBe('IDPCommunicationError');
  expect(error.status).toBe(400);
});
