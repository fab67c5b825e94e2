import { createHash } from 'node:crypto';
import type { Credential, Session } from '../auth/identity';
import type { SecretBox } from '../iam/secret-box';
import { xmlDocument } from '../protocol/xml';
import { IamError, type IamStore, type User } from '../../metadata/store';
import { STS_NAMESPACE, StsError } from './errors';
import { unknownProvider, unverifiedIssuer, type OidcVerifier, type VerifiedToken } from './oidc';
import { issueSession, newSessionKeys, type SessionRecord } from './session-token';

export { StsError, stsErrorXml, isStsError, type StsErrorCode } from './errors';

export interface StsDeps {
  iam: IamStore;
  box: SecretBox;
  /** Unset: no identity provider is configured, and every web identity token is refused. */
  verifier?: OidcVerifier;
  /** Longest session, in seconds (config.stsMaxSeconds). */
  maxSeconds: number;
  /** Throws, with a message saying why, when an inline session policy is malformed. */
  validatePolicy(text: string): void;
  requestId: string;
  now?: () => number;
  /** Called after a sign-in created or changed a user, so cached users are dropped (IamCache.iamChanged). */
  iamChanged?: () => Promise<void>;
}

/**
 * One STS call (the query API: `Action=…&Version=2011-06-15&…`), answered with AWS's XML.
 * Throws StsError for every refusal; the caller writes it with stsErrorXml().
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_Operations.html
 */
export async function handleSts(params: URLSearchParams, caller: Credential | undefined, deps: StsDeps): Promise<string> {
  const action = required(params, 'Action');
  const version = params.get('Version');
  if (version !== null && version !== API_VERSION) {
    throw new StsError('InvalidAction', `Could not find operation ${action} for version ${version}`);
  }
  switch (action) {
    case 'AssumeRoleWithWebIdentity':
      return assumeRoleWithWebIdentity(params, deps);
    case 'AssumeRole':
      return assumeRole(params, caller, deps);
    case 'GetCallerIdentity':
      return getCallerIdentity(caller, deps);
    default:
      throw new StsError('InvalidAction', `Could not find operation ${action} for version ${version ?? API_VERSION}`);
  }
}

const API_VERSION = '2011-06-15';
const MIN_SECONDS = 900;
const DEFAULT_SECONDS = 3600;
/** AWS's limit on the plaintext of session policies. */
const MAX_POLICY_CHARS = 2048;
/** Roles in one token that are looked up as policy names: a token cannot cost more queries. */
const MAX_ROLES_LOOKED_UP = 100;
/** A user's sessionsValidAfter (set by the database's clock) this close ahead of ours is clock skew. */
const CLOCK_SKEW_MS = 60_000;
const NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;
/** rfs has no account numbers (ARNs leave the account empty, as Ceph's); a 12-digit one is accepted and kept. */
const ROLE_ARN = /^arn:aws:iam::(\d{12})?:role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

/** https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html */
async function assumeRoleWithWebIdentity(params: URLSearchParams, deps: StsDeps): Promise<string> {
  const request = commonParameters(params, deps);
  const token = required(params, 'WebIdentityToken');
  if (!deps.verifier) throw unknownProvider(unverifiedIssuer(token));
  const verified = await deps.verifier.verify(token);
  const mapped = await mappedPolicies(deps.iam, verified.roles);
  if (mapped.length === 0) throw notAuthorized('sts:AssumeRoleWithWebIdentity', request.roleArn);
  const user = await signInUser(deps, verified, mapped);
  const policies = mapped.includes(request.roleName) ? [request.roleName] : mapped;
  const issued = issue(deps, user, request, { kind: 'web-identity', policies, subject: verified.subject });
  return xmlDocument('AssumeRoleWithWebIdentityResponse', {
    '@xmlns': STS_NAMESPACE,
    AssumeRoleWithWebIdentityResult: {
      Credentials: issued.credentials,
      SubjectFromWebIdentityToken: verified.subject,
      AssumedRoleUser: assumedRoleUser(request, user),
      ...packedPolicySize(request.inlinePolicy),
      Provider: verified.issuer,
      Audience: verified.audience ?? '',
    },
    ResponseMetadata: { RequestId: deps.requestId },
  }, false);
}

/** https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 * Only a user with long-lived keys may call it, for a role (named policy) attached to it.
 * Root is refused, as AWS refuses its root user: root needs no role, and a root session
 * would have no user to bound it. Sessions may not chain. */
async function assumeRole(params: URLSearchParams, caller: Credential | undefined, deps: StsDeps): Promise<string> {
  const request = commonParameters(params, deps);
  if (!caller) throw new StsError('AccessDenied', 'Anonymous callers may not assume roles');
  if (caller.session) throw new StsError('AccessDenied', 'Temporary credentials may not assume roles');
  if (caller.user === undefined) throw new StsError('AccessDenied', 'Roles may not be assumed by root accounts.');
  const user = await deps.iam.getUser(caller.user);
  const mayAssume = user && !user.disabled && user.policies.includes(request.roleName) && (await deps.iam.getPolicy(request.roleName));
  if (!user || !mayAssume) throw notAuthorized('sts:AssumeRole', request.roleArn, caller.user);
  const issued = issue(deps, user, request, { kind: 'assume-role', policies: [request.roleName] });
  return xmlDocument('AssumeRoleResponse', {
    '@xmlns': STS_NAMESPACE,
    AssumeRoleResult: {
      Credentials: issued.credentials,
      AssumedRoleUser: assumedRoleUser(request, user),
      ...packedPolicySize(request.inlinePolicy),
    },
    ResponseMetadata: { RequestId: deps.requestId },
  }, false);
}

/** https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html */
async function getCallerIdentity(caller: Credential | undefined, deps: StsDeps): Promise<string> {
  if (!caller) throw new StsError('AccessDenied', 'GetCallerIdentity needs a signed request');
  const user = caller.user === undefined ? undefined : await deps.iam.getUser(caller.user);
  const userId = user?.userId ?? caller.owner;
  const session = caller.session;
  const identity = session
    ? { Arn: assumedRoleArn(roleNameOf(session.roleArn), session.sessionName), UserId: `${userId}:${session.sessionName}` }
    : { Arn: caller.user === undefined ? 'arn:aws:iam:::root' : userArn(caller.user), UserId: userId };
  return xmlDocument('GetCallerIdentityResponse', {
    '@xmlns': STS_NAMESPACE,
    GetCallerIdentityResult: { ...identity, Account: '' },
    ResponseMetadata: { RequestId: deps.requestId },
  }, false);
}

/** The parameters AssumeRole and AssumeRoleWithWebIdentity share, checked. */
interface RoleRequest {
  roleArn: string;
  roleName: string;
  sessionName: string;
  durationSeconds: number;
  inlinePolicy?: string;
}

function commonParameters(params: URLSearchParams, deps: StsDeps): RoleRequest {
  const roleArn = required(params, 'RoleArn');
  const sessionName = required(params, 'RoleSessionName');
  const roleName = ROLE_ARN.exec(roleArn)?.[2];
  if (!roleName) throw new StsError('ValidationError', 'Request ARN is invalid');
  if (!NAME_PATTERN.test(sessionName)) {
    throw new StsError('ValidationError', `1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]{2,64}`);
  }
  // Managed session policies would narrow the session further; ignoring them would grant more than asked.
  if ([...params.keys()].some((name) => name.startsWith('PolicyArns.'))) {
    throw new StsError('InvalidParameterValue', 'PolicyArns are not supported; pass an inline Policy to narrow the session');
  }
  return { roleArn, roleName, sessionName, durationSeconds: durationSeconds(params, deps.maxSeconds), inlinePolicy: inlinePolicy(params, deps) };
}

function durationSeconds(params: URLSearchParams, maxSeconds: number): number {
  const raw = params.get('DurationSeconds');
  if (raw === null) return Math.min(DEFAULT_SECONDS, maxSeconds);
  const seconds = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(seconds >= MIN_SECONDS)) {
    throw new StsError('ValidationError', `1 validation error detected: Value '${raw.slice(0, 20)}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to ${MIN_SECONDS}`);
  }
  if (seconds > maxSeconds) {
    throw new StsError('ValidationError', `The requested DurationSeconds exceeds the MaxSessionDuration set for this role (${maxSeconds} seconds).`);
  }
  return seconds;
}

/** The inline session policy, which can only narrow what the session's policies allow. */
function inlinePolicy(params: URLSearchParams, deps: StsDeps): string | undefined {
  const text = params.get('Policy');
  if (text === null) return undefined;
  if (text.length > MAX_POLICY_CHARS) {
    throw new StsError('PackedPolicyTooLarge', `Packed size of consumed policies exceeds 100% of allowed value (${packedPercent(text)}%).`);
  }
  try {
    deps.validatePolicy(text);
  } catch (e) {
    throw new StsError('MalformedPolicyDocument', e instanceof Error ? e.message : 'The session policy is malformed');
  }
  return text;
}

const packedPercent = (text: string) => Math.ceil((text.length / MAX_POLICY_CHARS) * 100);

function packedPolicySize(text: string | undefined): { PackedPolicySize?: number } {
  return text === undefined ? {} : { PackedPolicySize: packedPercent(text) };
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') throw new StsError('MissingParameter', `The request must contain the parameter ${name}`);
  return value;
}

/** The token's roles that name an existing named policy. */
async function mappedPolicies(iam: IamStore, roles: string[]): Promise<string[]> {
  const candidates = [...new Set(roles)].slice(0, MAX_ROLES_LOOKED_UP);
  const found = await Promise.all(candidates.map(async (role) => ((await iam.getPolicy(role)) ? role : undefined)));
  return found.filter((role): role is string => role !== undefined);
}

/**
 * The rfs user of an OIDC identity, made on its first sign-in. Its canonical id comes from
 * (issuer, sub), so it is the same on every gateway and every sign-in; its name
 * (`<issuer host and path>/<sub>`) holds a '/', which local user names cannot, and does not
 * change when the username does. Its attached policies follow the token's roles.
 */
async function signInUser(deps: StsDeps, verified: VerifiedToken, policies: string[]): Promise<User> {
  const id = oidcUserId(verified.issuer, verified.subject);
  let user = (await deps.iam.getUserById(id.toString('hex'))) ?? (await createOidcUser(deps, verified, id));
  if (user.source !== 'oidc' || user.disabled) throw notAuthorized('sts:AssumeRoleWithWebIdentity', undefined, user.name);
  if (!sameMembers(user.policies, policies)) {
    await deps.iam.updateUser(user.name, { policies });
    user = { ...user, policies };
    await deps.iamChanged?.();
  }
  return user;
}

async function createOidcUser(deps: StsDeps, verified: VerifiedToken, id: Buffer): Promise<User> {
  const name = oidcUserName(verified.issuer, verified.subject);
  try {
    await deps.iam.createUser({ name, id: id.toString('hex'), userId: `AROA${base32(id).slice(0, 17)}`, source: 'oidc', policies: [] });
    await deps.iamChanged?.();
  } catch (e) {
    // Another gateway made it first: read what it made.
    if (!(e instanceof IamError && e.code === 'EntityAlreadyExists')) throw e;
  }
  const user = await deps.iam.getUserById(id.toString('hex'));
  if (!user) throw new StsError('AccessDenied', `The user name ${name} is taken by another user`);
  return user;
}

/** The canonical id of an OIDC identity's user: the same on every gateway and sign-in. */
export function oidcUserId(issuer: string, subject: string): Buffer {
  return createHash('sha256').update(`${issuer}\n${subject}`).digest();
}

export function oidcUserName(issuer: string, subject: string): string {
  const url = new URL(issuer);
  return `${url.host}${url.pathname.replace(/\/+$/, '')}/${subject}`;
}

/** Seals the session and returns the credentials as STS answers them. */
function issue(
  deps: StsDeps,
  user: User,
  request: RoleRequest,
  grant: Pick<Session, 'kind' | 'policies' | 'subject'>,
): { credentials: Record<string, string> } {
  const issuedAt = issuedAtFor(user, deps.now?.() ?? Date.now());
  // Whole seconds, so that the Expiration answered is exactly when the session ends.
  const expiresAt = Math.floor(issuedAt / 1000 + request.durationSeconds) * 1000;
  const keys = newSessionKeys();
  const record: SessionRecord = {
    ...grant,
    inlinePolicy: request.inlinePolicy,
    roleArn: request.roleArn,
    sessionName: request.sessionName,
    issuedAt,
    expiresAt,
    ...keys,
    user: user.name,
    owner: user.id,
    displayName: user.name,
  };
  return {
    credentials: {
      AccessKeyId: keys.accessKeyId,
      SecretAccessKey: keys.secretKey,
      SessionToken: issueSession(deps.box, record),
      Expiration: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}

/** Sessions issued before sessionsValidAfter are refused; a user just made (by the database's
 * clock) must not have its first session refused because our clock is a little behind. */
function issuedAtFor(user: User, now: number): number {
  const validAfter = user.sessionsValidAfter.getTime();
  return validAfter > now && validAfter - now <= CLOCK_SKEW_MS ? validAfter : now;
}

function assumedRoleUser(request: RoleRequest, user: User): { Arn: string; AssumedRoleId: string } {
  return { Arn: assumedRoleArn(request.roleName, request.sessionName), AssumedRoleId: `${user.userId}:${request.sessionName}` };
}

/** The ARN forms authorize() matches policies' principals against (no account number). */
const userArn = (name: string) => `arn:aws:iam:::user/${name}`;
const assumedRoleArn = (roleName: string, sessionName: string) => `arn:aws:sts:::assumed-role/${roleName}/${sessionName}`;

const roleNameOf = (roleArn: string) => roleArn.slice(roleArn.lastIndexOf('/') + 1);

function notAuthorized(action: string, resource: string | undefined, userName?: string): StsError {
  if (userName === undefined) return new StsError('AccessDenied', `Not authorized to perform ${action}`);
  const on = resource === undefined ? '' : ` on resource: ${resource}`;
  return new StsError('AccessDenied', `User: ${userArn(userName)} is not authorized to perform: ${action}${on}`);
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((x) => set.has(x));
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const base32 = (bytes: Buffer) => [...bytes].map((b) => BASE32[b & 31]).join('');
