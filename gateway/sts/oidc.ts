import * as jose from 'jose';
import * as oidcClient from 'openid-client';
import type { OidcConfig } from '../config';
import { StsError } from './errors';

/** What STS takes from a verified web identity token. */
export interface VerifiedToken {
  issuer: string;
  subject: string;
  /** Keycloak's `preferred_username`. */
  username?: string;
  /** The strings in the roles claim (OidcConfig.rolesClaim); none when it is missing. */
  roles: string[];
  /** The client the token was issued to: the configured audience when set, else azp or the first aud. */
  audience?: string;
  expiresAt: Date;
  claims: jose.JWTPayload;
}

export interface OidcVerifierOptions {
  /** After fetching the JWKS, a token with an unknown kid refetches it no sooner than this:
   * a burst of forged kids costs the identity provider one request per period. */
  jwksCooldownMs?: number;
  /** The JWKS is refetched at least this often even when every kid is known. */
  jwksMaxAgeMs?: number;
  /** Seconds of clock skew allowed for exp, nbf and iat. */
  clockToleranceSeconds?: number;
  /** Milliseconds before discovery or a JWKS fetch counts as failed. */
  timeoutMs?: number;
}

/** Signature algorithms a token may use: public-key ones only, so neither `none` nor an HMAC
 * keyed with something public (the JWKS) can pass. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;

const NO_VERIFICATION_KEY = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";
const IDP_UNREACHABLE = 'The identity provider could not be reached or answered in error; try again';
const NOT_A_JWT = 'The web identity token is not a valid JWT';

type KeyResolver = jose.JWTVerifyGetKey;

/**
 * Verifies OpenID Connect tokens (Keycloak's access or ID tokens) for AssumeRoleWithWebIdentity.
 * The provider's metadata comes from discovery (openid-client); keys from its JWKS through
 * jose's remote key set, which caches them and refetches on an unknown kid at most once per
 * cooldown. Discovery that fails is retried by the next call. Tokens are never logged.
 */
export class OidcVerifier {
  private keys: Promise<KeyResolver> | undefined;
  private readonly options: Required<OidcVerifierOptions>;

  constructor(private readonly config: OidcConfig, options: OidcVerifierOptions = {}) {
    this.options = {
      jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
      jwksMaxAgeMs: options.jwksMaxAgeMs ?? 600_000,
      clockToleranceSeconds: options.clockToleranceSeconds ?? 30,
      timeoutMs: options.timeoutMs ?? 5_000,
    };
  }

  get issuer(): string {
    return this.config.issuer;
  }

  /** The token's claims once its signature, issuer, audience and times check out; StsError otherwise. */
  async verify(token: string): Promise<VerifiedToken> {
    // Everything that needs no key is checked first: a hostile token costs no request.
    const header = decodedHeader(token);
    if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(header.alg ?? '')) {
      throw new StsError('InvalidIdentityToken', 'The web identity token is not signed with an asymmetric algorithm');
    }
    const issuer = unverifiedIssuer(token);
    if (issuer !== this.config.issuer) throw unknownProvider(issuer);
    const keys = await this.keyResolver();
    const claims = await this.checkSignatureAndTimes(token, keys);
    this.checkIssuedAt(claims);
    const audience = this.checkAudience(claims);
    return {
      issuer: this.config.issuer,
      subject: claims.sub!,
      username: typeof claims.preferred_username === 'string' ? claims.preferred_username : undefined,
      roles: rolesAt(claims, this.config.rolesClaim),
      audience,
      expiresAt: new Date(claims.exp! * 1000),
      claims,
    };
  }

  private async checkSignatureAndTimes(token: string, keys: KeyResolver): Promise<jose.JWTPayload> {
    try {
      const { payload } = await jose.jwtVerify(token, keys, {
        issuer: this.config.issuer,
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        clockTolerance: this.options.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
      });
      return payload;
    } catch (e) {
      throw verificationError(e);
    }
  }

  /** jose checks iat only against a maximum age; a token from the future is refused here. */
  private checkIssuedAt(claims: jose.JWTPayload): void {
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.iat === 'number' && claims.iat > now + this.options.clockToleranceSeconds) {
      throw new StsError('InvalidIdentityToken', 'The web identity token was issued in the future');
    }
  }

  /** Keycloak access tokens often say aud=account and name the client only in azp. */
  private checkAudience(claims: jose.JWTPayload): string | undefined {
    const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
    const azp = typeof claims.azp === 'string' ? claims.azp : undefined;
    const wanted = this.config.audience;
    if (wanted === undefined) return azp ?? audiences[0];
    if (audiences.includes(wanted) || azp === wanted) return wanted;
    throw new StsError('InvalidIdentityToken', 'Incorrect token audience');
  }

  /** Discovery once; a failure is forgotten so that the next call tries again. */
  private keyResolver(): Promise<KeyResolver> {
    if (!this.keys) {
      this.keys = this.discoverKeys();
      this.keys.catch(() => (this.keys = undefined));
    }
    return this.keys;
  }

  private async discoverKeys(): Promise<KeyResolver> {
    let jwksUri: string | undefined;
    try {
      const discovered = await oidcClient.discovery(new URL(this.config.issuer), this.config.audience ?? 'rfs', undefined, undefined, {
        // An http:// issuer is the operator's explicit choice (a Keycloak beside rfs on a private network).
        execute: new URL(this.config.issuer).protocol === 'http:' ? [oidcClient.allowInsecureRequests] : [],
        timeout: Math.ceil(this.options.timeoutMs / 1000),
      });
      jwksUri = discovered.serverMetadata().jwks_uri;
    } catch (e) {
      throw new StsError('IDPCommunicationError', `${IDP_UNREACHABLE} (discovery: ${describe(e)})`);
    }
    if (!jwksUri) throw new StsError('IDPCommunicationError', `${IDP_UNREACHABLE} (discovery names no jwks_uri)`);
    const remote = jose.createRemoteJWKSet(new URL(jwksUri), {
      cooldownDuration: this.options.jwksCooldownMs,
      cacheMaxAge: this.options.jwksMaxAgeMs,
      timeoutDuration: this.options.timeoutMs,
    });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (e) {
        throw keyError(e);
      }
    };
  }
}

function decodedHeader(token: string): jose.ProtectedHeaderParameters {
  try {
    return jose.decodeProtectedHeader(token);
  } catch {
    throw new StsError('InvalidIdentityToken', NOT_A_JWT);
  }
}

/** The `iss` a token claims, before anything about it is verified. */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const { iss } = jose.decodeJwt(token);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    throw new StsError('InvalidIdentityToken', NOT_A_JWT);
  }
}

/** What AWS answers for a token from a provider it has not registered. */
export function unknownProvider(issuer: string | undefined): StsError {
  return new StsError('InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${(issuer ?? '').slice(0, 256)}`);
}

/** The strings at a dotted claim path (`realm_access.roles`); anything else there counts as none. */
export function rolesAt(claims: jose.JWTPayload, path: string): string[] {
  let value: unknown = claims;
  for (const step of path.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[step] : undefined;
  }
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A failure inside the key lookup: no key for the kid is the token's fault, anything else the provider's. */
function keyError(e: unknown): StsError {
  const code = (e as { code?: string }).code;
  if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' || code === 'ERR_JOSE_NOT_SUPPORTED') {
    return new StsError('InvalidIdentityToken', NO_VERIFICATION_KEY);
  }
  return new StsError('IDPCommunicationError', `${IDP_UNREACHABLE} (keys: ${describe(e)})`);
}

function verificationError(e: unknown): StsError {
  if (e instanceof StsError) return e;
  const { code, claim } = e as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new StsError('ExpiredTokenException', 'Token expired: current date/time must be before the expiration date/time');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return new StsError('InvalidIdentityToken', claim === 'nbf' ? 'The web identity token is not valid yet' : `The web identity token's ${claim} claim is not valid`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new StsError('InvalidIdentityToken', 'The web identity token signature could not be verified');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new StsError('InvalidIdentityToken', 'The web identity token is not signed with an asymmetric algorithm');
    default:
      return new StsError('InvalidIdentityToken', NOT_A_JWT);
  }
}

/** An error's kind for a message, never a token or its claims. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e.cause as { code?: string } | undefined)?.code;
  return cause ? `${e.message}: ${cause}` : e.message;
}
