import {
  compileConditions, conditionHolds, keyFamily, narrowsToKnownCallers, resolveVariable, type CompiledCondition, type Fail,
} from './policy-conditions';
import type { CompiledPolicy, Decision, PolicyPrincipal, PolicyRequest } from './policy-types';
import {
  arnVariables, compileArn, compileGlob, matchArn, matchGlob, splitArn, type ArnPattern, type Glob, type Resolve,
} from './wildcard';

/**
 * The AWS access policy language, for bucket policies (S3's PutBucketPolicy) and identity
 * policies (rfs's named policies and STS session policies): parsed and validated once, with
 * AWS's error messages, then compiled so that evaluating a request allocates almost nothing.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html
 */

/** A malformed policy; the message is AWS's. The caller answers S3 `MalformedPolicy` for a
 * bucket policy, IAM `MalformedPolicyDocument` (or `LimitExceeded` when `limitExceeded`). */
export class PolicyError extends Error {
  constructor(message: string, readonly limitExceeded = false) {
    super(message);
    this.name = 'PolicyError';
  }
}

export type PolicyErrorKind =
  | 'firstByte' | 'invalidJson' | 'duplicateName' | 'tooLarge' | 'unknownField' | 'version' | 'missingStatement'
  | 'emptyStatement' | 'syntax' | 'sid' | 'duplicateSid' | 'missingEffect' | 'effect' | 'effectCase'
  | 'principalForbidden' | 'missingPrincipal' | 'principal' | 'duplicateElement' | 'missingAction' | 'emptyAction'
  | 'actionVendor' | 'actionColons' | 'vendor' | 'action' | 'missingResource' | 'emptyResource' | 'resource'
  | 'actionResource' | 'conditionType' | 'conditionKey' | 'conditionValue' | 'dateValue' | 'ipAddress';

type Messages = Record<PolicyErrorKind, string | ((detail: string) => string)>;

const S3_SYNTAX = 'Invalid policy syntax.';
const S3_ACTION = 'Policy has invalid action';

/** What S3's PutBucketPolicy answers. */
const S3_MESSAGES: Messages = {
  firstByte: "Policies must be valid JSON and the first byte must be '{'",
  invalidJson: 'This policy contains invalid Json',
  duplicateName: (name) => `Statement/policy already has instance of ${name}`,
  tooLarge: 'Policy exceeds the maximum allowed document size.',
  unknownField: (name) => `Unknown field ${name}`,
  version: 'The policy must contain a valid version string',
  missingStatement: 'Missing required field Statement',
  emptyStatement: 'Could not parse the policy: Statement is empty!',
  syntax: S3_SYNTAX,
  sid: S3_SYNTAX,
  duplicateSid: 'Statement IDs (SID) in a single policy must be unique.',
  missingEffect: 'Missing required field Effect',
  effect: (value) => `Invalid effect: ${value}`,
  effectCase: (value) => `Invalid effect: ${value}`,
  principalForbidden: S3_SYNTAX,
  missingPrincipal: 'Missing required field Principal',
  principal: 'Invalid principal in policy',
  duplicateElement: (name) => `Statement/policy already has instance of ${name}`,
  missingAction: 'Missing required field Action',
  emptyAction: 'Missing required field Action cannot be empty!',
  actionVendor: S3_ACTION,
  actionColons: S3_ACTION,
  vendor: S3_ACTION,
  action: S3_ACTION,
  missingResource: 'Missing required field Resource',
  emptyResource: 'Missing required field Resource cannot be empty!',
  resource: 'Policy has invalid resource',
  actionResource: 'Action does not apply to any resource(s) in statement',
  conditionType: (operator) => `Invalid Condition type : ${operator}`,
  conditionKey: 'Policy has an invalid condition key',
  conditionValue: S3_SYNTAX,
  dateValue: S3_SYNTAX,
  ipAddress: 'Invalid IP address in Conditions',
};

const IAM_SYNTAX = 'Syntax errors in policy.';
const IAM_VENDOR = 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.';
const IAM_LEGACY = 'The policy failed legacy parsing';

/** What IAM's CreatePolicy and STS's Policy parameter answer. */
const IAM_MESSAGES: Messages = {
  firstByte: IAM_SYNTAX,
  invalidJson: IAM_SYNTAX,
  duplicateName: IAM_SYNTAX,
  tooLarge: (limit) => `Cannot exceed quota for PolicySize: ${limit}`,
  unknownField: IAM_SYNTAX,
  version: IAM_SYNTAX,
  missingStatement: IAM_SYNTAX,
  emptyStatement: IAM_SYNTAX,
  syntax: IAM_SYNTAX,
  sid: 'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*',
  duplicateSid: 'Statement IDs (SID) in a single policy must be unique.',
  missingEffect: IAM_SYNTAX,
  effect: IAM_SYNTAX,
  effectCase: IAM_LEGACY,
  principalForbidden: 'Policy document should not specify a principal.',
  missingPrincipal: IAM_SYNTAX,
  principal: IAM_SYNTAX,
  duplicateElement: IAM_SYNTAX,
  missingAction: 'Policy statement must contain actions.',
  emptyAction: 'Policy statement must contain actions.',
  actionVendor: IAM_VENDOR,
  actionColons: 'Actions/Condition can contain only one colon.',
  vendor: (vendor) => `Vendor ${vendor} is not valid`,
  action: S3_ACTION,
  missingResource: 'Policy statement must contain resources.',
  emptyResource: 'Policy statement must contain resources.',
  resource: (resource) => `Resource ${resource} must be in ARN format or "*".`,
  actionResource: IAM_SYNTAX,
  conditionType: IAM_SYNTAX,
  conditionKey: IAM_VENDOR,
  conditionValue: IAM_SYNTAX,
  dateValue: IAM_LEGACY,
  ipAddress: IAM_SYNTAX,
};

// ---- Actions ("Actions, resources, and condition keys for Amazon S3") ----

const OBJECT_ACTIONS = `AbortMultipartUpload BypassGovernanceRetention DeleteObject DeleteObjectAnnotation
  DeleteObjectTagging DeleteObjectVersion DeleteObjectVersionAnnotation DeleteObjectVersionTagging GetObject
  GetObjectAcl GetObjectAnnotation GetObjectAttributes GetObjectLegalHold GetObjectRetention GetObjectTagging
  GetObjectTorrent GetObjectVersion GetObjectVersionAcl GetObjectVersionAnnotation
  GetObjectVersionAnnotationForReplication GetObjectVersionAttributes GetObjectVersionForReplication
  GetObjectVersionTagging GetObjectVersionTorrent InitiateReplication ListMultipartUploadParts ListObjectAnnotations
  ListObjectVersionAnnotations ObjectOwnerOverrideToBucketOwner PutObject PutObjectAcl PutObjectAnnotation
  PutObjectLegalHold PutObjectRetention PutObjectTagging PutObjectVersionAcl PutObjectVersionAnnotation
  PutObjectVersionTagging ReplicateDelete ReplicateObject ReplicateObjectAnnotation ReplicateTags RestoreObject
  UpdateObjectEncryption`;

const BUCKET_ACTIONS = `AllowVendedLogDeliveryForResource CreateBucket CreateBucketMetadataTableConfiguration
  DeleteBucket DeleteBucketMetadataTableConfiguration DeleteBucketPolicy DeleteBucketWebsite
  GetAccelerateConfiguration GetAnalyticsConfiguration GetBucketAbac GetBucketAcl GetBucketCORS GetBucketLocation
  GetBucketLogging GetBucketMetadataTableConfiguration GetBucketNotification GetBucketObjectLockConfiguration
  GetBucketOwnershipControls GetBucketPolicy GetBucketPolicyStatus GetBucketPublicAccessBlock
  GetBucketRequestPayment GetBucketTagging GetBucketVersioning GetBucketWebsite GetEncryptionConfiguration
  GetIntelligentTieringConfiguration GetInventoryConfiguration GetLifecycleConfiguration GetMetricsConfiguration
  GetReplicationConfiguration ListBucket ListBucketMultipartUploads ListBucketVersions PutAccelerateConfiguration
  PutAnalyticsConfiguration PutBucketAbac PutBucketAcl PutBucketCORS PutBucketLogging PutBucketNotification
  PutBucketObjectLockConfiguration PutBucketOwnershipControls PutBucketPolicy PutBucketPublicAccessBlock
  PutBucketRequestPayment PutBucketTagging PutBucketVersioning PutBucketWebsite PutEncryptionConfiguration
  PutIntelligentTieringConfiguration PutInventoryConfiguration PutLifecycleConfiguration PutMetricsConfiguration
  PutReplicationConfiguration UpdateBucketMetadataAnnotationTableConfiguration
  UpdateBucketMetadataInventoryTableConfiguration UpdateBucketMetadataJournalTableConfiguration`;

/** Account-level, access point, job, Storage Lens and Access Grants actions: no bucket or object resource. */
const OTHER_ACTIONS = `AssociateAccessGrantsIdentityCenter CreateAccessGrant CreateAccessGrantsInstance
  CreateAccessGrantsLocation CreateAccessPoint CreateAccessPointForObjectLambda CreateJob CreateMultiRegionAccessPoint
  CreateStorageLensGroup DeleteAccessGrant DeleteAccessGrantsInstance DeleteAccessGrantsInstanceResourcePolicy
  DeleteAccessGrantsLocation DeleteAccessPoint DeleteAccessPointForObjectLambda DeleteAccessPointPolicy
  DeleteAccessPointPolicyForObjectLambda DeleteJobTagging DeleteMultiRegionAccessPoint DeleteStorageLensConfiguration
  DeleteStorageLensConfigurationTagging DeleteStorageLensGroup DescribeJob DescribeMultiRegionAccessPointOperation
  DissociateAccessGrantsIdentityCenter GetAccessGrant GetAccessGrantsInstance GetAccessGrantsInstanceForPrefix
  GetAccessGrantsInstanceResourcePolicy GetAccessGrantsLocation GetAccessPoint GetAccessPointConfigurationForObjectLambda
  GetAccessPointForObjectLambda GetAccessPointPolicy GetAccessPointPolicyForObjectLambda GetAccessPointPolicyStatus
  GetAccessPointPolicyStatusForObjectLambda GetAccountPublicAccessBlock GetDataAccess GetJobTagging
  GetMultiRegionAccessPoint GetMultiRegionAccessPointPolicy GetMultiRegionAccessPointPolicyStatus
  GetMultiRegionAccessPointRoutes GetStorageLensConfiguration GetStorageLensConfigurationTagging
  GetStorageLensDashboard GetStorageLensGroup ListAccessGrants ListAccessGrantsInstances ListAccessGrantsLocations
  ListAccessPoints ListAccessPointsForObjectLambda ListAllMyBuckets ListCallerAccessGrants ListJobs
  ListMultiRegionAccessPoints ListStorageLensConfigurations ListStorageLensGroups ListTagsForResource
  PutAccessGrantsInstanceResourcePolicy PutAccessPointConfigurationForObjectLambda PutAccessPointPolicy
  PutAccessPointPolicyForObjectLambda PutAccessPointPublicAccessBlock PutAccountPublicAccessBlock PutJobTagging
  PutMultiRegionAccessPointPolicy PutStorageLensConfiguration PutStorageLensConfigurationTagging
  SubmitMultiRegionAccessPointRoutes TagResource UntagResource UpdateAccessGrantsLocation UpdateJobPriority
  UpdateJobStatus UpdateStorageLensGroup`;

const STS_ACTIONS = `AssumeRole AssumeRoleWithSAML AssumeRoleWithWebIdentity AssumeRoot DecodeAuthorizationMessage
  GetAccessKeyInfo GetCallerIdentity GetFederationToken GetServiceBearerToken GetSessionToken SetContext
  SetSourceIdentity TagSession`;

type ActionKind = 'object' | 'bucket' | 'other';

const namesOf = (vendor: string, list: string) => list.trim().split(/\s+/).map((n) => `${vendor}:${n.toLowerCase()}`);

/** Every S3 action (lower-cased) and the resource it acts on. */
const S3_ACTIONS = new Map<string, ActionKind>([
  ...namesOf('s3', OBJECT_ACTIONS).map((n) => [n, 'object'] as const),
  ...namesOf('s3', BUCKET_ACTIONS).map((n) => [n, 'bucket'] as const),
  ...namesOf('s3', OTHER_ACTIONS).map((n) => [n, 'other'] as const),
]);

/** Vendors whose action names are checked (a pattern must name at least one real action). */
const KNOWN_ACTIONS = new Map<string, readonly string[]>([
  ['s3', [...S3_ACTIONS.keys()]],
  ['sts', namesOf('sts', STS_ACTIONS)],
]);

// ---- Compiled form ----

interface ActionSet {
  readonly any: boolean;
  /** Lower-cased actions without wildcards. */
  readonly literals: ReadonlySet<string>;
  readonly globs: readonly Glob[];
}

interface ResourceSet {
  readonly any: boolean;
  readonly patterns: readonly ArnPattern[];
}

interface PrincipalSet {
  /** `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included. */
  readonly any: boolean;
  readonly aws: ReadonlySet<string>;
  readonly canonicalUser: ReadonlySet<string>;
  readonly federated: ReadonlySet<string>;
  /** AWS service principals: rfs has none, so they never match. */
  readonly service: ReadonlySet<string>;
}

interface Statement {
  readonly allow: boolean;
  /** Undefined in identity policies: the principal is whoever the policy is attached to. */
  readonly principals: PrincipalSet | undefined;
  readonly notPrincipal: boolean;
  readonly actions: ActionSet;
  readonly notAction: boolean;
  readonly resources: ResourceSet;
  readonly notResource: boolean;
  readonly conditions: readonly CompiledCondition[];
  /** Variables without a default: unresolved, IAM treats the statement as invalid (skipped). */
  readonly requiredVariables: readonly string[];
  readonly usesVariables: boolean;
}

interface ParseContext {
  kind: 'identity' | 'resource';
  bucket: string | undefined;
  /** Version 2012-10-17: `${…}` are policy variables; earlier, literal text. */
  variables: boolean;
  fail: Fail;
}

const VERSIONS = ['2012-10-17', '2008-10-17'];
const TOP_FIELDS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_FIELDS = new Set([
  'Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition',
]);
/** S3's bucket policy limit (20 KB) and IAM's managed policy limit (characters, whitespace excluded). */
const DEFAULT_MAX = { resource: 20 * 1024, identity: 6144 };

/**
 * Parses, validates and compiles a policy. `kind: 'resource'` is a bucket policy: every
 * statement names a Principal, every Resource lies within `options.bucket`, every action is
 * S3's. `kind: 'identity'` names no Principal. `maxBytes` overrides the size limit (bytes for
 * a bucket policy, non-whitespace characters for an identity policy, as AWS counts them).
 * Throws PolicyError with AWS's message.
 */
export function parsePolicy(
  text: string,
  kind: 'identity' | 'resource',
  options: { bucket?: string; maxBytes?: number } = {},
): CompiledPolicy {
  const messages = kind === 'resource' ? S3_MESSAGES : IAM_MESSAGES;
  const fail: Fail = (error, detail = '') => {
    const message = messages[error];
    throw new PolicyError(typeof message === 'function' ? message(detail) : message, error === 'tooLarge' && kind === 'identity');
  };
  const limit = options.maxBytes ?? DEFAULT_MAX[kind];
  if (exceeds(text, kind, limit)) fail('tooLarge', String(limit));
  const document = parseDocument(text, kind, fail);
  const version = document.Version;
  if (version !== undefined && (typeof version !== 'string' || !VERSIONS.includes(version))) fail('version');
  if (document.Id !== undefined && typeof document.Id !== 'string') fail('syntax');
  const context: ParseContext = { kind, bucket: options.bucket, variables: version === '2012-10-17', fail };
  const raw = statementsOf(document.Statement, fail);
  checkSids(raw, context);
  const statements = raw.map((s) => compileStatement(s, context));
  return new Policy(text, statements, kind === 'resource');
}

/** Bytes for S3; for IAM, characters other than JSON's whitespace (counted up to the limit). */
function exceeds(text: string, kind: 'identity' | 'resource', limit: number): boolean {
  if (kind === 'resource') return Buffer.byteLength(text, 'utf8') > limit;
  let size = 0;
  for (let i = 0; i < text.length && size <= limit; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) size++;
  }
  return size > limit;
}

function parseDocument(text: string, kind: 'identity' | 'resource', fail: Fail): Record<string, unknown> {
  if (kind === 'resource' && text[0] !== '{') fail('firstByte');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return fail('invalidJson');
  }
  if (!isPlainObject(document)) return fail('invalidJson');
  const duplicate = duplicateName(text);
  if (duplicate !== undefined) fail('duplicateName', duplicate);
  for (const name of Object.keys(document)) if (!TOP_FIELDS.has(name)) fail('unknownField', name);
  return document;
}

/**
 * A name that some object of the (valid JSON) text repeats: JSON.parse would keep the last
 * one silently, and a reviewer reading the stored text would see the first.
 */
function duplicateName(text: string): string | undefined {
  const open: (Set<string> | undefined)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') open.push(new Set());
    else if (c === '[') open.push(undefined);
    else if (c === '}' || c === ']') open.pop();
    else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      let next = end + 1;
      while (/\s/.test(text[next] ?? '')) next++;
      const names = open[open.length - 1];
      if (names && text[next] === ':') {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name)) return name;
        names.add(name);
      }
      i = end;
    }
  }
  return undefined;
}

function statementsOf(value: unknown, fail: Fail): Record<string, unknown>[] {
  if (value === undefined) return fail('missingStatement');
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) return fail('emptyStatement');
  return list.map((s) => (isPlainObject(s) ? s : fail('syntax')));
}

/** Sids are optional; those given must differ (and, in IAM, be alphanumeric). */
function checkSids(statements: Record<string, unknown>[], context: ParseContext): void {
  const seen = new Set<string>();
  for (const { Sid: sid } of statements) {
    if (sid === undefined) continue;
    if (typeof sid !== 'string') context.fail('syntax');
    if (context.kind === 'identity' && !/^[0-9A-Za-z]*$/.test(sid)) context.fail('sid');
    if (sid !== '' && seen.has(sid)) context.fail('duplicateSid');
    seen.add(sid);
  }
}

function compileStatement(raw: Record<string, unknown>, context: ParseContext): Statement {
  const { fail } = context;
  for (const name of Object.keys(raw)) if (!STATEMENT_FIELDS.has(name)) fail('unknownField', name);
  const hasPrincipal = has(raw, 'Principal') || has(raw, 'NotPrincipal');
  if (context.kind === 'identity' && hasPrincipal) fail('principalForbidden');
  for (const name of ['Principal', 'Action', 'Resource']) if (has(raw, name) && has(raw, `Not${name}`)) fail('duplicateElement', name);
  const allow = effectOf(raw.Effect, fail);
  const principals = context.kind === 'resource' ? principalsOf(raw, fail) : undefined;
  const actionList = elementList(raw, 'Action', context);
  const resourceList = elementList(raw, 'Resource', context);
  actionList.values.forEach((a) => checkAction(a, context));
  resourceList.values.forEach((r) => checkResource(r, context));
  if (context.kind === 'resource' && !actionList.negated && !resourceList.negated) {
    checkActionsApply(actionList.values, resourceList.values, context);
  }
  const conditions = raw.Condition === undefined ? [] : compileConditions(raw.Condition, context);
  const resources = resourceSet(resourceList.values, context.variables);
  const variables = [...resources.patterns.flatMap(arnVariables), ...conditions.flatMap((c) => c.variables)];
  return {
    allow,
    principals,
    notPrincipal: has(raw, 'NotPrincipal'),
    actions: actionSet(actionList.values),
    notAction: actionList.negated,
    resources,
    notResource: resourceList.negated,
    conditions,
    requiredVariables: [...new Set(variables.filter((v) => v.fallback === undefined).map((v) => v.variable))],
    usesVariables: variables.length > 0,
  };
}

function effectOf(value: unknown, fail: Fail): boolean {
  if (value === 'Allow') return true;
  if (value === 'Deny') return false;
  if (value === undefined) return fail('missingEffect');
  if (typeof value === 'string' && /^(allow|deny)$/i.test(value)) return fail('effectCase', value);
  return fail('effect', typeof value === 'string' ? value : JSON.stringify(value));
}

/** Action or NotAction (Resource or NotResource): exactly one, a string or a non-empty list of them. */
function elementList(raw: Record<string, unknown>, name: 'Action' | 'Resource', context: ParseContext) {
  const negated = has(raw, `Not${name}`);
  const value = negated ? raw[`Not${name}`] : raw[name];
  if (value === undefined) context.fail(name === 'Action' ? 'missingAction' : 'missingResource');
  const values = stringList(value) ?? context.fail('syntax');
  if (values.length === 0) context.fail(name === 'Action' ? 'emptyAction' : 'emptyResource');
  return { negated, values };
}

// ---- Actions ----

/** `*`, or `vendor:Name` with `*`/`?`; for s3 and sts, a name (or pattern) of a real action. */
function checkAction(action: string, context: ParseContext): void {
  const { fail } = context;
  if (action === '*') return;
  const parts = action.split(':');
  if (parts.length === 1) fail('actionVendor');
  if (parts.length > 2) fail('actionColons');
  const [vendor, name] = parts;
  if (!/^[A-Za-z0-9.-]+$/.test(vendor)) fail('vendor', vendor);
  if (!/^[A-Za-z0-9_*?-]+$/.test(name)) fail('action');
  const lower = vendor.toLowerCase();
  if (context.kind === 'resource' && lower !== 's3') fail('action');
  const known = KNOWN_ACTIONS.get(lower);
  if (known && !matchesSome(compileGlob(action.toLowerCase()), known)) fail('action');
}

function matchesSome(glob: Glob, names: readonly string[]): boolean {
  return names.some((n) => matchGlob(glob, n));
}

function actionSet(actions: string[]): ActionSet {
  const lower = actions.map((a) => a.toLowerCase());
  const globs = lower.filter((a) => /[*?]/.test(a)).map((a) => compileGlob(a));
  return {
    any: lower.includes('*'),
    literals: new Set(lower.filter((a) => !/[*?]/.test(a))),
    globs,
  };
}

function matchesAction(set: ActionSet, action: string): boolean {
  if (set.any || set.literals.has(action)) return true;
  for (let i = 0; i < set.globs.length; i++) if (matchGlob(set.globs[i], action)) return true;
  return false;
}

// ---- Resources ----

const S3_ARN = 'arn:aws:s3:::';

/** A bucket policy names its own bucket and objects; an identity policy any ARN, or `*`. */
function checkResource(resource: string, context: ParseContext): void {
  if (context.kind === 'resource') {
    if (!isWithinBucket(resource, context.bucket)) context.fail('resource');
  } else if (resource !== '*' && (!resource.startsWith('arn:') || splitArn(resource).length < 6)) {
    context.fail('resource', resource);
  }
}

function isWithinBucket(resource: string, bucket: string | undefined): boolean {
  if (!resource.startsWith(S3_ARN)) return false;
  const path = resource.slice(S3_ARN.length);
  if (bucket === undefined) return path !== '' && !path.startsWith('/');
  return path === bucket || path.startsWith(`${bucket}/`);
}

/** S3 refuses a statement whose action acts on none of its resources (s3:GetObject on a bucket ARN). */
function checkActionsApply(actions: string[], resources: string[], context: ParseContext): void {
  const kinds = new Set(resources.map((r) => resourceKind(r, context.bucket)));
  for (const action of actions) {
    const glob = compileGlob(action.toLowerCase());
    let known = false;
    let applies = false;
    for (const [name, kind] of S3_ACTIONS) {
      if (!matchGlob(glob, name)) continue;
      known = true;
      if (kind === 'other' || kinds.has(kind)) {
        applies = true;
        break;
      }
    }
    if (known && !applies) context.fail('actionResource');
  }
}

function resourceKind(resource: string, bucket: string | undefined): ActionKind {
  const path = resource.slice(S3_ARN.length);
  if (bucket !== undefined) return path === bucket ? 'bucket' : 'object';
  return path.includes('/') ? 'object' : 'bucket';
}

function resourceSet(resources: string[], variables: boolean): ResourceSet {
  return { any: resources.includes('*'), patterns: resources.map((r) => compileArn(r, variables)) };
}

/**
 * A request without a resource (`*`: ListAllMyBuckets, rfs's admin actions) is matched by a
 * pattern that covers every resource of the action's service: `*` or `arn:aws:s3:::*`.
 */
function matchesResource(set: ResourceSet, resource: string, action: string, resolve: Resolve | undefined): boolean {
  if (set.any) return true;
  const target = resource === '*' ? `arn:aws:${action.slice(0, action.indexOf(':'))}:::*` : resource;
  for (let i = 0; i < set.patterns.length; i++) if (matchArn(set.patterns[i], target, resolve)) return true;
  return false;
}

// ---- Principals ("AWS JSON policy elements: Principal") ----

const PRINCIPAL_TYPES = new Set(['AWS', 'CanonicalUser', 'Federated', 'Service']);
const ACCOUNT_ID = /^\d{12}$/;
/** IAM and STS ARNs; rfs's own leave the account empty (`arn:aws:iam:::user/alice`). */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::([^:*?]*):([^*?]+)$/;

function principalsOf(raw: Record<string, unknown>, fail: Fail): PrincipalSet {
  const value = has(raw, 'Principal') ? raw.Principal : raw.NotPrincipal;
  if (value === undefined) return fail('missingPrincipal');
  const set = { any: false, aws: new Set<string>(), canonicalUser: new Set<string>(), federated: new Set<string>(), service: new Set<string>() };
  if (value === '*') return { ...set, any: true };
  if (!isPlainObject(value) || Object.keys(value).length === 0) return fail('principal');
  for (const [type, names] of Object.entries(value)) {
    const list = stringList(names);
    if (!PRINCIPAL_TYPES.has(type) || !list || list.length === 0) return fail('principal');
    for (const name of list) addPrincipal(set, type, name, fail);
  }
  return set;
}

function addPrincipal(set: { any: boolean; aws: Set<string>; canonicalUser: Set<string>; federated: Set<string>; service: Set<string> }, type: string, name: string, fail: Fail): void {
  if (type === 'AWS') {
    if (name === '*') set.any = true;
    else if (ACCOUNT_ID.test(name)) set.aws.add(name).add(`arn:aws:iam::${name}:root`);
    else {
      const arn = PRINCIPAL_ARN.exec(name) ?? fail('principal');
      set.aws.add(name);
      // An account named by its root ARN is the same grant as its bare id.
      if (arn[1] === 'iam' && arn[3] === 'root' && ACCOUNT_ID.test(arn[2])) set.aws.add(arn[2]);
    }
  } else if (name === '' || /[*?]/.test(name)) fail('principal');
  else if (type === 'CanonicalUser') set.canonicalUser.add(name);
  else if (type === 'Federated') set.federated.add(name);
  else set.service.add(name);
}

/** Some name the request goes by is listed (user, role, session, account; canonical id; issuer). */
function namesPrincipal(set: PrincipalSet, p: PolicyPrincipal): boolean {
  if (set.any) return true;
  if (p.anonymous) return false;
  return someIn(set.aws, p.aws) || someIn(set.canonicalUser, p.canonicalUser) || someIn(set.federated, p.federated);
}

/**
 * NotPrincipal. With Deny it spares only a caller every AWS name of which is listed (AWS
 * evaluates the account, the role and the session each: list only the user and the account
 * is still denied, "AWS JSON policy elements: NotPrincipal"), or whose canonical id or issuer
 * is. With Allow it grants only to callers it does not name at all, the narrower reading.
 */
function notPrincipalApplies(set: PrincipalSet, p: PolicyPrincipal, allow: boolean): boolean {
  if (set.any) return false;
  if (p.anonymous) return true;
  if (allow) return !namesPrincipal(set, p);
  const spared = (p.aws.length > 0 && p.aws.every((a) => set.aws.has(a))) || someIn(set.canonicalUser, p.canonicalUser) || someIn(set.federated, p.federated);
  return !spared;
}

function someIn(set: ReadonlySet<string>, names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) if (set.has(names[i])) return true;
  return false;
}

// ---- Evaluation ----

class Policy implements CompiledPolicy {
  readonly conditionKeys: ReadonlySet<string>;
  readonly isPublic: boolean;

  constructor(readonly text: string, readonly statements: readonly Statement[], readonly s3Only: boolean) {
    this.conditionKeys = conditionKeysOf(statements);
    this.isPublic = statements.some(grantsPublicly);
  }

  evaluate(request: PolicyRequest): Decision {
    return decide(this, request, request.action.toLowerCase());
  }
}

/**
 * AWS's order within one policy: any matching Deny decides; otherwise a matching Allow; a
 * bucket policy speaks only to S3 requests. Once allowed, Allow statements are skipped: only
 * a Deny could change the answer.
 */
function decide(policy: Policy, request: PolicyRequest, action: string): Decision {
  if (policy.s3Only && !isS3Action(action)) return undefined;
  const statements = policy.statements;
  let allowed = false;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i];
    if (s.allow && allowed) continue;
    if (!applies(s, request, action)) continue;
    if (!s.allow) return 'Deny';
    allowed = true;
  }
  return allowed ? 'Allow' : undefined;
}

/** `s3:` by char codes: startsWith costs more than the rest of a statement's action check. */
function isS3Action(action: string): boolean {
  return action.charCodeAt(0) === 0x73 && action.charCodeAt(1) === 0x33 && action.charCodeAt(2) === 0x3a;
}

function applies(s: Statement, request: PolicyRequest, action: string): boolean {
  if (matchesAction(s.actions, action) === s.notAction) return false;
  // The principal before the resource: a set lookup is cheaper than a string match, and a
  // bucket policy's statements mostly differ by whom they name.
  if (s.principals) {
    const principal = request.principal;
    const named = s.notPrincipal ? notPrincipalApplies(s.principals, principal, s.allow) : namesPrincipal(s.principals, principal);
    if (!named) return false;
  }
  const resolve: Resolve | undefined = s.usesVariables ? (name) => resolveVariable(request, name) : undefined;
  if (resolve && !s.requiredVariables.every((v) => resolve(v) !== undefined)) return false;
  if (matchesResource(s.resources, request.resource, action, resolve) === s.notResource) return false;
  const conditions = s.conditions;
  for (let i = 0; i < conditions.length; i++) if (!conditionHolds(conditions[i], request, resolve)) return false;
  return true;
}

/** Explicit Deny in any policy wins; else Allow if any allows; else no decision. */
export function evaluatePolicies(policies: readonly CompiledPolicy[], request: PolicyRequest): Decision {
  const action = request.action.toLowerCase();
  let allowed = false;
  for (let i = 0; i < policies.length; i++) {
    const policy = policies[i];
    const decision = policy instanceof Policy ? decide(policy, request, action) : policy.evaluate(request);
    if (decision === 'Deny') return 'Deny';
    if (decision === 'Allow') allowed = true;
  }
  return allowed ? 'Allow' : undefined;
}

/** Condition keys and variables the statements read, tag keys by prefix. */
function conditionKeysOf(statements: readonly Statement[]): Set<string> {
  const keys = new Set<string>();
  for (const s of statements) {
    for (const c of s.conditions) keys.add(keyFamily(c.key));
    for (const p of s.resources.patterns) for (const v of arnVariables(p)) keys.add(keyFamily(v.variable));
    for (const c of s.conditions) for (const v of c.variables) keys.add(keyFamily(v.variable));
  }
  return keys;
}

/**
 * S3's "public" ("Blocking public access to your Amazon S3 storage", The meaning of "public"):
 * an Allow to everyone (`*`, `{"AWS":"*"}`, a Federated provider's users, or NotPrincipal) that
 * no condition on fixed values of a caller-identifying key narrows.
 */
function grantsPublicly(s: Statement): boolean {
  if (!s.allow || !s.principals) return false;
  const p = s.principals;
  const everyone = s.notPrincipal ? !p.any : p.any || p.federated.size > 0;
  return everyone && !s.conditions.some(narrowsToKnownCallers);
}

// ---- JSON helpers ----

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(raw: Record<string, unknown>, name: string): boolean {
  return Object.hasOwn(raw, name);
}

function stringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}
