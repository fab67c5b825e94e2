import { XMLParser } from 'fast-xml-parser';
import type { AclPermission, Grant, Grantee } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import { xmlDocument } from '../protocol/xml';

/**
 * S3's access control lists as pure functions: canned ACLs, the x-amz-grant-* headers, the
 * AccessControlPolicy document, and what a list of grants permits. Which answers S3 gives to
 * malformed input follows AWS-validated emulations (LocalStack's snapshot tests, versitygw's
 * integration suite run against S3): https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
 * Grantee existence (a canonical id naming no account) needs the store: gateway/s3/acl.ts.
 */

export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
export const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery';
const GROUPS: readonly string[] = [ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY];

/** The Amazon EC2 account `aws-exec-read` grants READ to (S3 shows it as `za-team`). */
export const EC2_BUNDLE_READER = '6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c';
export const EC2_BUNDLE_READER_NAME = 'za-team';

const PERMISSIONS: readonly AclPermission[] = ['FULL_CONTROL', 'READ', 'WRITE', 'READ_ACP', 'WRITE_ACP'];
/** S3's limit on grants in one ACL. */
export const MAX_GRANTS = 100;

/** The grant headers, in the order their grants are listed. */
export const GRANT_HEADERS: readonly (readonly [string, AclPermission])[] = [
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
];

export type AclResource = 'bucket' | 'object';

/** Who a new ACL is for: the resource's owner, its bucket's owner (the same for a bucket). */
export interface AclOwners {
  owner: string;
  bucketOwner: string;
  /** Which canned ACLs apply; 'object' when absent. */
  resource?: AclResource;
}

/** Headers as Node gives them. */
export type HeaderBag = Record<string, string | string[] | undefined>;

/** S3 accepts the two bucket-owner ACLs on a bucket and ignores them (the owner is the bucket
 * owner); log-delivery-write is a bucket ACL only. */
const CANNED: Record<AclResource, readonly string[]> = {
  bucket: ['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'log-delivery-write', 'bucket-owner-read', 'bucket-owner-full-control'],
  object: ['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control'],
};

const user = (id: string): Grantee => ({ type: 'CanonicalUser', id });
const group = (uri: string): Grantee => ({ type: 'Group', uri });

/** The one grant S3 gives a resource nobody set an ACL on (and `private`). */
export function ownerFullControl(owner: string): Grant[] {
  return [{ grantee: user(owner), permission: 'FULL_CONTROL' }];
}

/**
 * The grants of a canned ACL, exactly as S3 stores them (the owner's FULL_CONTROL first). An
 * unknown name is InvalidArgument with an empty message, as S3 answers. When the object's
 * owner owns the bucket, the bucket-owner ACLs add nothing.
 */
export function cannedAcl(name: string, { owner, bucketOwner, resource = 'object' }: AclOwners): Grant[] {
  if (!CANNED[resource].includes(name)) throw new S3Error('InvalidArgument', '', { ArgumentName: 'x-amz-acl', ArgumentValue: name });
  const grants = ownerFullControl(owner);
  const add = (grantee: Grantee, ...permissions: AclPermission[]) => permissions.forEach((permission) => grants.push({ grantee, permission }));
  switch (name) {
    case 'public-read':
      add(group(ALL_USERS), 'READ');
      break;
    case 'public-read-write':
      add(group(ALL_USERS), 'READ', 'WRITE');
      break;
    case 'authenticated-read':
      add(group(AUTHENTICATED_USERS), 'READ');
      break;
    case 'aws-exec-read':
      add(user(EC2_BUNDLE_READER), 'READ');
      break;
    case 'log-delivery-write':
      add(group(LOG_DELIVERY), 'WRITE', 'READ_ACP');
      break;
    case 'bucket-owner-read':
      if (bucketOwner !== owner) add(user(bucketOwner), 'READ');
      break;
    case 'bucket-owner-full-control':
      if (bucketOwner !== owner) add(user(bucketOwner), 'FULL_CONTROL');
      break;
  }
  return grants;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The x-amz-acl header, if given. */
export function cannedAclHeader(headers: HeaderBag): string | undefined {
  return single(headers['x-amz-acl']);
}

/** Whether the request names an ACL in its headers (canned or grants). */
export function hasAclHeaders(headers: HeaderBag): boolean {
  return headers['x-amz-acl'] !== undefined || GRANT_HEADERS.some(([h]) => headers[h] !== undefined);
}

/**
 * The ACL a request's headers ask for: `x-amz-acl`, or the `x-amz-grant-*` headers, whose ACL
 * is exactly the grants given (S3 adds no grant for the owner, who keeps READ_ACP and WRITE_ACP
 * by owning). Undefined when the request names no ACL. Both kinds at once is InvalidRequest.
 */
export function aclFromHeaders(headers: HeaderBag, owners: AclOwners): Grant[] | undefined {
  const canned = cannedAclHeader(headers);
  const granted = GRANT_HEADERS.filter(([h]) => headers[h] !== undefined);
  if (canned !== undefined && granted.length > 0) throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  if (canned !== undefined) return cannedAcl(canned, owners);
  if (granted.length === 0) return undefined;
  const grants: Grant[] = [];
  for (const [header, permission] of granted) {
    // Node joins a repeated header with ", ", which is the list separator anyway.
    const value = headers[header];
    for (const grantee of parseGrantees(header, Array.isArray(value) ? value.join(', ') : value ?? '')) {
      grants.push({ grantee, permission });
    }
  }
  return checkCount(dedupe(grants));
}

/** `id="…"`, `uri="…"` or `emailAddress="…"`, comma separated; quotes optional, names
 * compared without case (the AWS CLI documents `emailaddress=`). Commas inside quotes do not
 * separate; empty items are skipped. */
function parseGrantees(header: string, value: string): Grantee[] {
  const grantees: Grantee[] = [];
  for (const item of splitOutsideQuotes(value)) {
    const text = item.trim();
    if (text === '') continue;
    const m = /^([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^"]*))$/.exec(text);
    if (!m) throw unrecognized(header, text);
    const kind = m[1].toLowerCase();
    const target = (m[2] ?? m[3]).trim();
    if (kind === 'id') {
      if (!isCanonicalId(target)) throw new S3Error('InvalidArgument', 'Invalid id', { ArgumentName: 'id', ArgumentValue: target });
      grantees.push(user(target));
    } else if (kind === 'uri') {
      if (!GROUPS.includes(target)) throw new S3Error('InvalidArgument', 'Invalid group uri', { ArgumentName: 'uri', ArgumentValue: target });
      grantees.push(group(target));
    } else if (kind === 'emailaddress') {
      throw unresolvableEmail(target);
    } else {
      throw unrecognized(header, text);
    }
  }
  return grantees;
}

function splitOutsideQuotes(value: string): string[] {
  const items: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '"') quoted = !quoted;
    else if (value[i] === ',' && !quoted) {
      items.push(value.slice(start, i));
      start = i + 1;
    }
  }
  items.push(value.slice(start));
  return items;
}

function unrecognized(header: string, item: string): S3Error {
  return new S3Error('InvalidArgument', 'Argument format not recognized', { ArgumentName: header, ArgumentValue: item });
}

/** rfs users have no e-mail address, so no address names one. */
function unresolvableEmail(address: string): S3Error {
  return new S3Error('UnresolvableGrantByEmailAddress', undefined, { EmailAddress: address });
}

/** A canonical user id as S3 writes them (64 hex digits); anything else is "Invalid id". */
export function isCanonicalId(id: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(id);
}

const sameGrant = (a: Grant, b: Grant) => a.permission === b.permission && sameGrantee(a.grantee, b.grantee);

function sameGrantee(a: Grantee, b: Grantee): boolean {
  return a.type === 'CanonicalUser' ? b.type === 'CanonicalUser' && a.id === b.id : b.type === 'Group' && a.uri === b.uri;
}

/** A grant given twice is one grant. */
function dedupe(grants: Grant[]): Grant[] {
  return grants.filter((g, i) => grants.findIndex((o) => sameGrant(o, g)) === i);
}

function checkCount(grants: Grant[]): Grant[] {
  if (grants.length > MAX_GRANTS) throw malformedAcl();
  return grants;
}

/** MalformedACLError with the message S3 sends (the table's is the documented one). */
function malformedAcl(): S3Error {
  return new S3Error('MalformedACLError', 'The XML you provided was not well-formed or did not validate against our published schema');
}

// Attributes are needed for xsi:type; the namespace prefix (xsi, or whatever the client
// declared) is dropped so `type` is found under any prefix.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: true,
  isArray: (_name, jpath) => jpath === 'AccessControlPolicy.AccessControlList.Grant',
});

type Element = Record<string, unknown>;

function element(value: unknown): Element | undefined {
  if (value === '') return {};
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Element) : undefined;
}

/** The text of a child element: undefined when absent, MalformedACLError when not text. */
function text(parent: Element, name: string): string | undefined {
  const v = parent[name];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  const e = element(v);
  if (e && typeof e['#text'] === 'string') return e['#text'];
  throw malformedAcl();
}

/** Child element names, without attributes and text. */
function childNames(e: Element): string[] {
  return Object.keys(e).filter((k) => !k.startsWith('@') && k !== '#text');
}

/**
 * The grants of an AccessControlPolicy document (PutBucketAcl, PutObjectAcl bodies), checked
 * as S3 checks them: a body that is not such a document is MalformedACLError; an Owner/ID
 * other than the resource's owner is AccessDenied (an ACL cannot change the owner); an e-mail
 * grantee is UnresolvableGrantByEmailAddress; bad ids and group URIs are InvalidArgument.
 */
export function parseAclXml(body: string, owner: string): Grant[] {
  let doc: Element;
  try {
    doc = parser.parse(body, true) as Element;
  } catch {
    throw malformedAcl();
  }
  const roots = Object.keys(doc).filter((k) => k !== '?xml');
  const policy = element(doc.AccessControlPolicy);
  if (roots.length !== 1 || !policy) throw malformedAcl();
  const ownerElement = element(policy.Owner);
  const ownerId = ownerElement && text(ownerElement, 'ID')?.trim();
  if (!ownerId) throw malformedAcl();
  const list = element(policy.AccessControlList);
  if (!list || childNames(list).some((k) => k !== 'Grant')) throw malformedAcl();
  if (!isCanonicalId(ownerId)) throw new S3Error('InvalidArgument', 'Invalid id', { ArgumentName: 'CanonicalUser/ID', ArgumentValue: ownerId });
  if (ownerId !== owner) throw new S3Error('AccessDenied');
  const grants = ((list.Grant as unknown[] | undefined) ?? []).map(parseGrant);
  return checkCount(dedupe(grants));
}

function parseGrant(value: unknown): Grant {
  const grant = element(value);
  if (!grant) throw malformedAcl();
  const permission = text(grant, 'Permission')?.trim() as AclPermission | undefined;
  const grantee = element(grant.Grantee);
  if (!permission || !PERMISSIONS.includes(permission) || !grantee) throw malformedAcl();
  const type = grantee['@type'];
  if (type === 'CanonicalUser') {
    const id = text(grantee, 'ID')?.trim();
    if (id === undefined) throw malformedAcl();
    if (!isCanonicalId(id)) throw new S3Error('InvalidArgument', 'Invalid id', { ArgumentName: 'CanonicalUser/ID', ArgumentValue: id });
    return { grantee: user(id), permission };
  }
  if (type === 'Group') {
    const uri = text(grantee, 'URI')?.trim();
    if (uri === undefined) throw malformedAcl();
    if (!GROUPS.includes(uri)) throw new S3Error('InvalidArgument', 'Invalid group uri', { ArgumentName: 'Group/URI', ArgumentValue: uri });
    return { grantee: group(uri), permission };
  }
  if (type === 'AmazonCustomerByEmail') {
    const address = text(grantee, 'EmailAddress')?.trim();
    if (address === undefined) throw malformedAcl();
    throw unresolvableEmail(address);
  }
  throw malformedAcl();
}

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/**
 * An AccessControlPolicy document as S3 answers GetBucketAcl and GetObjectAcl: the owner, then
 * each grant in stored order, a canonical user with its display name, a group with its URI.
 * `names` gives display names by canonical id; an unknown id is shown as itself.
 */
export function aclXml(owner: { id: string; displayName: string }, grants: readonly Grant[], names: ReadonlyMap<string, string> = new Map()): string {
  const nameOf = (id: string) => (id === owner.id ? owner.displayName : names.get(id) ?? (id === EC2_BUNDLE_READER ? EC2_BUNDLE_READER_NAME : id));
  return xmlDocument('AccessControlPolicy', {
    Owner: { ID: owner.id, DisplayName: owner.displayName },
    AccessControlList: {
      Grant: grants.map(({ grantee, permission }) => ({
        Grantee:
          grantee.type === 'CanonicalUser'
            ? { '@xmlns:xsi': XSI, '@xsi:type': 'CanonicalUser', ID: grantee.id, DisplayName: nameOf(grantee.id) }
            : { '@xmlns:xsi': XSI, '@xsi:type': 'Group', URI: grantee.uri },
        Permission: permission,
      })),
    },
  });
}

/** Who asks: an account by canonical id (undefined when anonymous), authenticated or not. */
export interface AclRequester {
  canonicalId?: string;
  authenticated: boolean;
}

/**
 * Whether an ACL gives `who` the permission. Undefined grants are the default ACL: the owner
 * with FULL_CONTROL. FULL_CONTROL implies every permission; AllUsers matches anyone,
 * AuthenticatedUsers any signed request. The owner always has READ_ACP and WRITE_ACP, whatever
 * the grants say (S3 lets an owner repair an ACL that revoked its own access).
 */
export function aclPermits(grants: readonly Grant[] | undefined, owner: string, who: AclRequester, permission: AclPermission): boolean {
  if (who.canonicalId === owner && (permission === 'READ_ACP' || permission === 'WRITE_ACP')) return true;
  return (grants ?? ownerFullControl(owner)).some(({ grantee, permission: granted }) => {
    if (granted !== permission && granted !== 'FULL_CONTROL') return false;
    if (grantee.type === 'CanonicalUser') return who.canonicalId !== undefined && grantee.id === who.canonicalId;
    if (grantee.uri === ALL_USERS) return true;
    return grantee.uri === AUTHENTICATED_USERS && who.authenticated;
  });
}

/** S3's "public" ACL (what BlockPublicAcls refuses and IgnorePublicAcls ignores): one that
 * grants anything to AllUsers or AuthenticatedUsers. */
export function isPublicAcl(grants: readonly Grant[] | undefined): boolean {
  return (grants ?? []).some(({ grantee }) => grantee.type === 'Group' && (grantee.uri === ALL_USERS || grantee.uri === AUTHENTICATED_USERS));
}

/** Exactly the default ACL (the owner alone, FULL_CONTROL): stored as no ACL. */
export function isDefaultAcl(grants: readonly Grant[], owner: string): boolean {
  return grants.length === 1 && grants[0].permission === 'FULL_CONTROL' && grants[0].grantee.type === 'CanonicalUser' && grants[0].grantee.id === owner;
}

/** Grants nothing to anyone but `owner` (FULL_CONTROL or nothing): what a bucket's ACL must be
 * before its ACLs can be disabled (BucketOwnerEnforced). */
export function grantsOnlyOwner(grants: readonly Grant[] | undefined, owner: string): boolean {
  return (grants ?? []).every((g) => g.permission === 'FULL_CONTROL' && g.grantee.type === 'CanonicalUser' && g.grantee.id === owner);
}

/**
 * The ACLs a bucket with ACLs disabled (BucketOwnerEnforced) still accepts, because they give
 * nothing beyond what owning gives: the canned bucket-owner-full-control, or grants of
 * FULL_CONTROL to the bucket owner alone (`private` written by the bucket owner). Anything else
 * is AccessControlListNotSupported.
 */
export function acceptedWithAclsDisabled(canned: string | undefined, grants: readonly Grant[], bucketOwner: string): boolean {
  if (canned === 'bucket-owner-full-control') return true;
  return grants.length > 0 && grantsOnlyOwner(grants, bucketOwner);
}

/** The distinct canonical ids an ACL names (to check they exist, and to show their names). */
export function grantedIds(grants: readonly Grant[]): string[] {
  return [...new Set(grants.flatMap(({ grantee }) => (grantee.type === 'CanonicalUser' ? [grantee.id] : [])))];
}
