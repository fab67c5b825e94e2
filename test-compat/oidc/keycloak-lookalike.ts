import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * A real OpenID provider (oidc-provider) laid out like a Keycloak realm, for STS tests:
 * issuer `http://127.0.0.1:<port>/realms/<realm>`, Keycloak's endpoint paths, RS256 keys,
 * realm roles in `realm_access.roles`, a public client `rfs-sts` that takes the password
 * grant (Keycloak's "direct access grant", which the rfs realm enables). Tokens come from the
 * provider over HTTP, signed by its own keys; `rotateKeys()` swaps in a provider with a new
 * key under the same issuer, so earlier tokens' kid disappears from the JWKS.
 */
export interface KeycloakLookalike {
  readonly issuer: string;
  readonly clientId: string;
  /** JWKS documents served so far: what a verifier's rate limit is measured by. */
  readonly jwksRequests: number;
  /** Discovery documents served so far. */
  readonly discoveryRequests: number;
  /** Signs in `username` (made on first use) holding `roles`, through the token endpoint. */
  signIn(username: string, roles: string[]): Promise<RealmTokens>;
  /** The user's stable subject (a UUID, as Keycloak's). */
  subjectOf(username: string): string;
  /** Serves a new signing key; the old one leaves the JWKS at once. */
  rotateKeys(): Promise<void>;
  /** The current signing key, for hostileTokens(). */
  readonly signingKey: { kid: string; privateKey: crypto.KeyObject; publicKeyPem: string };
  /** Refuses every request with 503 while true: an identity provider that is down. */
  down: boolean;
  close(): Promise<void>;
}

export interface RealmTokens {
  /** A JWT access token as Keycloak issues it: aud `account` (unless set), azp the client. */
  accessToken: string;
  /** An ID token: aud the client. */
  idToken: string;
}

export interface LookalikeOptions {
  realm?: string;
  clientId?: string;
  /** The access token's `aud`; Keycloak's default is `account`, so STS must accept `azp`. */
  accessTokenAudience?: string;
  tokenTtlSeconds?: number;
}

interface RealmUser {
  subject: string;
  password: string;
  roles: string[];
}

/** Keycloak's paths under the realm (`/realms/<realm>` is the issuer's path). */
const ROUTES = {
  authorization: '/protocol/openid-connect/auth',
  token: '/protocol/openid-connect/token',
  jwks: '/protocol/openid-connect/certs',
  userinfo: '/protocol/openid-connect/userinfo',
  end_session: '/protocol/openid-connect/logout',
  introspection: '/protocol/openid-connect/token/introspect',
  revocation: '/protocol/openid-connect/revoke',
};
const RESOURCE = 'urn:rfs:keycloak-account';

export async function startKeycloakLookalike(options: LookalikeOptions = {}): Promise<KeycloakLookalike> {
  const realm = options.realm ?? 'rfs';
  const clientId = options.clientId ?? 'rfs-sts';
  const prefix = `/realms/${realm}`;
  const users = new Map<string, RealmUser>();
  let jwksRequests = 0;
  let discoveryRequests = 0;
  let down = false;
  let current: { provider: Provider; key: SigningKey } | undefined;

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (down) return reply(res, 503, 'identity provider down');
    if (!current || !(url === prefix || url.startsWith(`${prefix}/`))) return reply(res, 404, 'not found');
    const path = url.slice(prefix.length) || '/';
    if (path.startsWith(ROUTES.jwks)) jwksRequests++;
    if (path.startsWith('/.well-known/openid-configuration')) discoveryRequests++;
    // Mounted under the realm prefix as Express would mount it: originalUrl keeps the prefix,
    // from which oidc-provider derives the endpoint URLs it publishes.
    Object.assign(req, { originalUrl: url });
    req.url = path;
    current.provider.callback()(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;

  const realmContext = { issuer, clientId, users, accessTokenAudience: options.accessTokenAudience ?? 'account', ttl: options.tokenTtlSeconds ?? 300 };
  const install = () => {
    const key = newSigningKey();
    current = { provider: buildProvider(realmContext, key), key };
  };
  install();

  const user = (username: string, roles: string[]): RealmUser => {
    const known = users.get(username) ?? { subject: crypto.randomUUID(), password: crypto.randomBytes(12).toString('hex'), roles };
    known.roles = roles;
    users.set(username, known);
    return known;
  };

  return {
    issuer,
    clientId,
    get jwksRequests() { return jwksRequests; },
    get discoveryRequests() { return discoveryRequests; },
    get down() { return down; },
    set down(value: boolean) { down = value; },
    get signingKey() { return current!.key; },
    subjectOf: (username) => users.get(username)!.subject,
    async signIn(username, roles) {
      const { password } = user(username, roles);
      return passwordGrant(`${issuer}${ROUTES.token}`, clientId, username, password);
    },
    async rotateKeys() {
      install();
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

interface SigningKey {
  kid: string;
  privateKey: crypto.KeyObject;
  publicKeyPem: string;
}

function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid: crypto.randomUUID(), privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

interface RealmContext {
  issuer: string;
  clientId: string;
  users: Map<string, RealmUser>;
  accessTokenAudience: string;
  ttl: number;
}

function userBySubject(realm: RealmContext, subject: string | undefined): [string, RealmUser] | undefined {
  return [...realm.users].find(([, u]) => u.subject === subject);
}

/** What Keycloak puts in both tokens about the user (with the rfs realm's role mapper). */
function userClaims(username: string, user: RealmUser): Record<string, unknown> {
  return { preferred_username: username, realm_access: { roles: user.roles } };
}

function buildProvider(realm: RealmContext, key: SigningKey): Provider {
  const jwk = { ...key.privateKey.export({ format: 'jwk' }), kid: key.kid, alg: 'RS256', use: 'sig' };
  const provider = new Provider(realm.issuer, {
    clients: [{ client_id: realm.clientId, token_endpoint_auth_method: 'none', grant_types: ['password'], response_types: [], redirect_uris: [] }],
    jwks: { keys: [jwk] },
    adapter: MemoryAdapter,
    routes: ROUTES,
    scopes: ['openid', 'profile'],
    claims: { openid: ['sub'], profile: ['preferred_username', 'realm_access'] },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'openid profile', audience: realm.accessTokenAudience, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    ttl: { AccessToken: realm.ttl, IdToken: realm.ttl },
    // Keycloak's access tokens name the client in azp and carry the realm roles.
    extraTokenClaims: (_ctx: unknown, token: { accountId?: string }) => {
      const found = userBySubject(realm, token.accountId);
      return found ? { azp: realm.clientId, typ: 'Bearer', ...userClaims(...found) } : undefined;
    },
    findAccount: (_ctx: unknown, subject: string) => {
      const found = userBySubject(realm, subject);
      return found && { accountId: subject, claims: () => ({ sub: subject, ...userClaims(...found) }) };
    },
  });
  provider.registerGrantType('password', (ctx) => passwordGrantHandler(provider, realm, ctx), ['username', 'password', 'scope']);
  return provider;
}

/** Keycloak's direct access grant: username and password for an access token and an ID token. */
async function passwordGrantHandler(provider: Provider, realm: RealmContext, ctx: KoaContextWithOIDC): Promise<void> {
  const { username = '', password } = ctx.oidc.params;
  const user = realm.users.get(username);
  if (!user || user.password !== password) throw new errors.InvalidGrant('Invalid user credentials');
  const accessToken = new provider.AccessToken({ accountId: user.subject, client: ctx.oidc.client, gty: 'password', scope: 'openid profile' });
  accessToken.resourceServer = new provider.ResourceServer(RESOURCE, { scope: 'openid profile', audience: realm.accessTokenAudience, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } });
  const idToken = new provider.IdToken({ sub: user.subject, ...userClaims(username, user) }, { ctx });
  idToken.scope = 'openid profile';
  ctx.body = {
    access_token: await accessToken.save(),
    id_token: await idToken.issue({ use: 'idtoken' }),
    token_type: 'Bearer',
    expires_in: accessToken.expiration,
    scope: 'openid profile',
  };
}

async function passwordGrant(tokenUrl: string, clientId: string, username: string, password: string): Promise<RealmTokens> {
  const body = new URLSearchParams({ grant_type: 'password', client_id: clientId, username, password, scope: 'openid profile' });
  const response = await fetch(tokenUrl, { method: 'POST', body });
  const answer = (await response.json()) as { access_token?: string; id_token?: string; error_description?: string };
  if (!response.ok || !answer.access_token || !answer.id_token) {
    throw new Error(`token endpoint answered ${response.status}: ${answer.error_description ?? 'no tokens'}`);
  }
  return { accessToken: answer.access_token, idToken: answer.id_token };
}

/** oidc-provider's storage, kept in the fixture's memory (its own would warn on every start). */
class MemoryAdapter {
  private readonly entries = new Map<string, Record<string, unknown>>();
  constructor(readonly model: string) {}
  async upsert(id: string, payload: Record<string, unknown>): Promise<void> {
    this.entries.set(id, payload);
  }
  async find(id: string) {
    return this.entries.get(id);
  }
  async findByUid(uid: string) {
    return [...this.entries.values()].find((e) => e.uid === uid);
  }
  async findByUserCode(userCode: string) {
    return [...this.entries.values()].find((e) => e.userCode === userCode);
  }
  async consume(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (entry) entry.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string): Promise<void> {
    this.entries.delete(id);
  }
  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [id, e] of this.entries) if (e.grantId === grantId) this.entries.delete(id);
  }
}

function reply(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
}

/**
 * Tokens a verifier must refuse, each named by what is wrong with it. `claims` are a real
 * token's claims (decode one from signIn()); the ones signed with the realm's own key differ
 * from a good token only in the named claim.
 */
export async function hostileTokens(realm: KeycloakLookalike, claims: jose.JWTPayload): Promise<Record<HostileTokenName, string>> {
  const { kid, privateKey, publicKeyPem } = realm.signingKey;
  const now = Math.floor(Date.now() / 1000);
  const good = { ...claims, iat: now, exp: now + 300 };
  const signWithRealmKey = (payload: jose.JWTPayload) =>
    new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey);
  const otherKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return {
    algNone: new jose.UnsecuredJWT(good).encode(),
    // The classic confusion attack: HMAC keyed with the published public key.
    hs256WithPublicKey: await new jose.SignJWT(good).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(publicKeyPem)),
    wrongIssuer: await signWithRealmKey({ ...good, iss: `${realm.issuer}-evil` }),
    wrongAudience: await signWithRealmKey({ ...good, aud: 'someone-else', azp: 'someone-else' }),
    expired: await signWithRealmKey({ ...good, iat: now - 7200, exp: now - 3600 }),
    notYetValid: await signWithRealmKey({ ...good, nbf: now + 3600 }),
    issuedInFuture: await signWithRealmKey({ ...good, iat: now + 3600, exp: now + 7200 }),
    unknownKid: await new jose.SignJWT(good).setProtectedHeader({ alg: 'RS256', kid: 'not-a-realm-key' }).sign(otherKey),
    forgedSignature: await new jose.SignJWT(good).setProtectedHeader({ alg: 'RS256', kid }).sign(otherKey),
    noSubject: await signWithRealmKey({ ...good, sub: undefined }),
    notAJwt: 'this.is-not.a-jwt',
  };
}

export type HostileTokenName =
  | 'algNone'
  | 'hs256WithPublicKey'
  | 'wrongIssuer'
  | 'wrongAudience'
  | 'expired'
  | 'notYetValid'
  | 'issuedInFuture'
  | 'unknownKid'
  | 'forgedSignature'
  | 'noSubject'
  | 'notAJwt';
