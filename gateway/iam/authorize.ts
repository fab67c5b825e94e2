import type { IncomingHttpHeaders } from 'node:http';
import type { AclPermission, Bucket, Grant, MetadataStore, ObjectVersion } from '../../metadata/store';
import { MetadataError } from '../../metadata/store';
import type { Credential } from '../auth/identity';
import type { SignatureVersion } from '../auth/types';
import type { BucketCache } from '../services';
import { S3Error } from '../protocol/errors';
import { evaluatePolicies } from './policy';
import type { CompiledPolicy, Decision, PolicyPrincipal, PolicyRequest } from './policy-types';
import type { IamCache } from './iam-cache';
import { aclPermits, isPublicAcl } from './acl';

/** What the request looked like, for condition keys. */
export interface RequestFacts {
  ip: string;
  secure: boolean;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  /** s3:authType: how the request was signed; undefined for anonymous. */
  authType?: 'REST-HEADER' | 'REST-QUERY-STRING' | 'POST';
  /** s3:signatureversion: `AWS` (SigV2) or `AWS4-HMAC-SHA256`; taken as the latter when unset. */
  signatureVersion?: SignatureVersion;
}

/** One access to decide: who, which IAM action, on what. */
export interface AccessRequest {
  caller: Credential | undefined;
  /** IAM action (`s3:GetObject`); undefined: the action needs no permission (CORS preflight). */
  action: string | undefined;
  /** Empty or undefined for the service (ListBuckets). */
  bucket?: string;
  key?: string;
  /** The version the request names, if any (object ACLs and tags are per version). */
  versionId?: string;
  facts: RequestFacts;
  /** CreateBucket: the bucket does not exist yet, only the caller's own policies apply. */
  creating?: boolean;
  /** The keys are in the body (DeleteObjects, form uploads): only the bucket is loaded here,
   * the handler authorizes each key. */
  perKey?: boolean;
}

/** Bucket-ACL permission each action needs when an ACL is what grants it. */
const BUCKET_ACL: Record<string, AclPermission> = {
  's3:listbucket': 'READ',
  's3:listbucketversions': 'READ',
  's3:listbucketmultipartuploads': 'READ',
  's3:putobject': 'WRITE',
  's3:deleteobject': 'WRITE',
  's3:deleteobjectversion': 'WRITE',
  's3:abortmultipartupload': 'WRITE',
  's3:getbucketacl': 'READ_ACP',
  's3:putbucketacl': 'WRITE_ACP',
};

/** Object-ACL permission of the object actions an object's ACL or owner can grant. */
const OBJECT_ACL: Record<string, AclPermission> = {
  's3:getobject': 'READ',
  's3:getobjectversion': 'READ',
  's3:getobjectacl': 'READ_ACP',
  's3:getobjectversionacl': 'READ_ACP',
  's3:putobjectacl': 'WRITE_ACP',
  's3:putobjectversionacl': 'WRITE_ACP',
};

/** Object actions the object's owner may take on it when it does not own the bucket. */
const OBJECT_OWNER_ACTIONS = new Set([
  ...Object.keys(OBJECT_ACL), 's3:getobjecttagging', 's3:getobjectversiontagging', 's3:putobjecttagging',
  's3:putobjectversiontagging', 's3:getobjectattributes', 's3:getobjectversionattributes',
]);

/** ARN of an rfs user as policies name it (Ceph RGW's form: one deployment, no account number). */
export const userArn = (name: string): string => `arn:aws:iam:::user/${name}`;

/** Condition keys on the tags of the object acted on: read only when a policy asks. */
const EXISTING_TAG = 's3:existingobjecttag/';

const ANONYMOUS: PolicyPrincipal = { anonymous: true, aws: [], canonicalUser: [], federated: [] };

/**
 * The one access decision, after routing, for every request. AWS's order: an explicit Deny
 * in any policy wins; then an Allow from the caller's own policies, the bucket policy or an
 * ACL. Every rfs user is an account of its own: it owns the buckets it creates and may do
 * anything with them unless a Deny says otherwise. An STS session is bounded by its
 * policies: it may do only what they (and the bucket policy) allow, and its inline policy
 * can only narrow that. Root may do anything. Returns the bucket, loaded once for the
 * handler. Anonymous requests are decided like any other: a public bucket policy or ACL
 * may let them in.
 */
export class AccessControl {
  constructor(private readonly meta: MetadataStore, private readonly buckets: BucketCache, private readonly iam: IamCache) {}

  async authorize(request: AccessRequest): Promise<Bucket | undefined> {
    // A preflight needs no permission; its handler reads the bucket's CORS rules itself.
    if (request.action === undefined) return undefined;
    const bucket = await this.bucketOf(request);
    if (request.perKey) return bucket;
    const caller = request.caller;
    if (caller && caller.user === undefined && caller.session === undefined) return bucket; // root
    if (await this.allowed(request, bucket)) return bucket;
    throw new S3Error('AccessDenied');
  }

  /** Whether `caller` may use the admin API: root always; anyone else when its own policies
   * (a user's attached ones, a session's or a Keycloak token's roles) allow `rfs:Admin`, as the
   * built-in `admin` policy does, and none denies it. Owning buckets grants nothing here. */
  async mayAdminister(caller: Credential, facts: RequestFacts): Promise<boolean> {
    if (caller.user === undefined && caller.session === undefined) return true;
    const request: AccessRequest = { caller, action: 'rfs:Admin', facts };
    const policyRequest = this.policyRequest(request, 'rfs:admin');
    const inline = caller.session?.inlinePolicy;
    return (
      evaluatePolicies(await this.identityPolicies(caller), policyRequest) === 'Allow' &&
      (inline === undefined || this.iam.compiled(inline, 'identity').evaluate(policyRequest) === 'Allow')
    );
  }

  private async bucketOf(request: AccessRequest): Promise<Bucket | undefined> {
    if (!request.bucket || request.creating) return undefined;
    const bucket = await this.buckets.get(request.bucket);
    if (!bucket) throw new S3Error('NoSuchBucket', undefined, { BucketName: request.bucket });
    return bucket;
  }

  private async allowed(request: AccessRequest, bucket: Bucket | undefined): Promise<boolean> {
    const { caller } = request;
    const action = request.action!.toLowerCase();
    const owner = caller?.owner;
    const session = caller?.session;
    const identity = caller ? await this.identityPolicies(caller) : [];
    const resource = bucket?.policy ? this.bucketPolicy(bucket, owner) : undefined;
    // The common case needs no evaluation: an account on its own bucket, with no policy to deny it.
    const ownsBucket = owner !== undefined && (bucket ? bucket.owner === owner : !request.bucket || request.creating === true);
    if (ownsBucket && !session && identity.length === 0 && !resource) return true;

    const all = resource ? [...identity, resource] : identity;
    const inline = session?.inlinePolicy ? this.iam.compiled(session.inlinePolicy, 'identity') : undefined;
    const policyRequest = this.policyRequest(request, action);
    if (request.key && [...all, ...(inline ? [inline] : [])].some((p) => p.conditionKeys.has(EXISTING_TAG))) {
      const object = await this.objectOf(request.bucket!, request.key, request.versionId);
      for (const [k, v] of Object.entries(object?.tags ?? {})) policyRequest.context.set(`${EXISTING_TAG}${k}`, [v]);
    }
    const decision = evaluatePolicies(all, policyRequest);
    const inlineDecision: Decision = inline ? inline.evaluate(policyRequest) : 'Allow';
    if (decision === 'Deny' || inlineDecision === 'Deny') return false;
    if (session) return decision === 'Allow' && inlineDecision === 'Allow';
    if (decision === 'Allow' || ownsBucket) return true;
    return this.aclAllows(request, action, bucket);
  }

  /** The caller's own policies: a user's attached ones, a session's bounding ones. */
  private async identityPolicies(caller: Credential): Promise<CompiledPolicy[]> {
    let names = caller.session?.policies;
    if (!names) {
      const user = await this.iam.user(caller.user!);
      if (!user || user.disabled) throw new S3Error('AccessDenied');
      names = user.policies;
    }
    const policies = await Promise.all(names.map((n) => this.iam.policy(n)));
    return policies.filter((p): p is CompiledPolicy => p !== undefined);
  }

  /** The bucket policy, unless PublicAccessBlock's RestrictPublicBuckets confines a public
   * one to the bucket's owner. */
  private bucketPolicy(bucket: Bucket, caller: string | undefined): CompiledPolicy | undefined {
    const policy = this.iam.compiled(bucket.policy!, 'resource', bucket.name);
    if (policy.isPublic && bucket.publicAccessBlock?.restrictPublicBuckets && caller !== bucket.owner) return undefined;
    return policy;
  }

  /** ACLs grant to accounts and groups (never to STS sessions, which policies bound). Object
   * reads look at the object's own ACL and owner: one read of its row, only when no policy
   * or bucket ownership already decided. */
  private async aclAllows(request: AccessRequest, action: string, bucket: Bucket | undefined): Promise<boolean> {
    if (!bucket || bucket.ownership === 'BucketOwnerEnforced') return false;
    const ignorePublic = bucket.publicAccessBlock?.ignorePublicAcls === true;
    const who = { canonicalId: request.caller?.owner, authenticated: request.caller !== undefined };
    const permits = (grants: Grant[] | undefined, owner: string, permission: AclPermission) =>
      aclPermits(ignorePublic && grants && isPublicAcl(grants) ? undefined : grants, owner, who, permission);
    const bucketPermission = BUCKET_ACL[action];
    if (bucketPermission && permits(bucket.acl, bucket.owner, bucketPermission)) return true;
    if (request.key === undefined || request.key === '' || (!OBJECT_ACL[action] && !OBJECT_OWNER_ACTIONS.has(action))) return false;
    const object = await this.objectOf(bucket.name, request.key, request.versionId);
    if (!object) return false;
    if (who.canonicalId === object.owner && OBJECT_OWNER_ACTIONS.has(action)) return true;
    const objectPermission = OBJECT_ACL[action];
    return objectPermission !== undefined && permits(object.acl, object.owner, objectPermission);
  }

  private async objectOf(bucket: string, key: string, versionId: string | undefined): Promise<ObjectVersion | undefined> {
    try {
      return await this.meta.getObject(bucket, key, versionId);
    } catch (e) {
      // Not there: the caller is refused as for any key it may not read (no existence leak).
      if (e instanceof MetadataError) return undefined;
      throw e;
    }
  }

  private policyRequest(request: AccessRequest, action: string): PolicyRequest & { context: Map<string, string[]> } {
    const { caller, bucket, key } = request;
    const resource = !bucket ? '*' : key ? `arn:aws:s3:::${bucket}/${key}` : `arn:aws:s3:::${bucket}`;
    return { action, resource, principal: principalOf(caller), context: conditionContext(request), variables: variablesOf(caller) };
  }
}

function principalOf(caller: Credential | undefined): PolicyPrincipal {
  if (!caller) return ANONYMOUS;
  const session = caller.session;
  if (!session) return { anonymous: false, aws: [userArn(caller.user ?? 'root')], canonicalUser: [caller.owner], federated: [] };
  const role = session.roleArn.slice(session.roleArn.lastIndexOf('/') + 1);
  return {
    anonymous: false,
    aws: [`arn:aws:sts:::assumed-role/${role}/${session.sessionName}`, session.roleArn, userArn(caller.user ?? 'root')],
    canonicalUser: [caller.owner],
    federated: session.kind === 'web-identity' && session.subject ? [session.roleArn] : [],
  };
}

function variablesOf(caller: Credential | undefined): ReadonlyMap<string, string> | undefined {
  if (!caller) return undefined;
  return new Map([['aws:username', caller.user ?? 'root'], ['aws:userid', caller.owner]]);
}

/** Condition keys of the request (lower-cased names; tag keys as sent). */
function conditionContext(request: AccessRequest): Map<string, string[]> {
  const { facts, caller } = request;
  const now = new Date();
  const context = new Map<string, string[]>([
    ['aws:sourceip', [facts.ip]],
    ['aws:securetransport', [String(facts.secure)]],
    ['aws:currenttime', [now.toISOString()]],
    ['aws:epochtime', [String(Math.floor(now.getTime() / 1000))]],
    ['aws:principaltype', [!caller ? 'Anonymous' : caller.session ? 'AssumedRole' : caller.user ? 'User' : 'Account']],
  ]);
  if (caller) {
    context.set('aws:username', [caller.user ?? 'root']);
    context.set('aws:userid', [caller.owner]);
  }
  if (facts.authType) {
    context.set('s3:authtype', [facts.authType]);
    context.set('s3:signatureversion', [facts.signatureVersion ?? 'AWS4-HMAC-SHA256']);
  }
  for (const [param, name] of [['prefix', 's3:prefix'], ['delimiter', 's3:delimiter'], ['max-keys', 's3:max-keys'], ['versionId', 's3:versionid']]) {
    const value = facts.query.get(param);
    if (value !== null) context.set(name, [value]);
  }
  const header = (name: string) => {
    const v = facts.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  for (const name of ['x-amz-acl', 'x-amz-content-sha256', 'x-amz-copy-source', 'x-amz-metadata-directive']) {
    const value = header(name);
    if (value !== undefined) context.set(`s3:${name}`, [value]);
  }
  // Object lock asked for by a write's headers (what PutObjectRetention's body asks is its own).
  for (const name of ['object-lock-mode', 'object-lock-retain-until-date', 'object-lock-legal-hold']) {
    const value = header(`x-amz-${name}`);
    if (value !== undefined) context.set(`s3:${name}`, [value]);
  }
  const until = Date.parse(header('x-amz-object-lock-retain-until-date') ?? '');
  if (!Number.isNaN(until)) context.set('s3:object-lock-remaining-retention-days', [String(Math.ceil((until - now.getTime()) / 86_400_000))]);
  const tagging = header('x-amz-tagging');
  if (tagging !== undefined) {
    const tags = new URLSearchParams(tagging);
    for (const [k, v] of tags) context.set(`s3:requestobjecttag/${k}`, [v]);
    context.set('s3:requestobjecttagkeys', [...tags.keys()]);
  }
  return context;
}

/** The canonical id S3 gives anonymous writers (as owner of what they write to a public bucket). */
export const ANONYMOUS_OWNER = '65a011a29cdf8ec533ec3d1ccaae921c';

/** Who owns what a caller writes (before the bucket's ownership setting has its say). */
export const writerOf = (caller: Credential | undefined): string => caller?.owner ?? ANONYMOUS_OWNER;
