/**
 * The seam between authorize() and the policy language (policy.ts). A policy document is
 * parsed and compiled once (bucket policies when set, named policies when loaded) and then
 * evaluated per request without parsing anything.
 */

/** Who makes the request, as a resource policy's Principal can name it. */
export interface PolicyPrincipal {
  anonymous: boolean;
  /** Values `{"AWS": …}` may name: the user's ARN, its account id and `arn:aws:iam::<account>:root`,
   * a session's assumed-role ARN. Empty for anonymous. */
  aws: string[];
  /** Values `{"CanonicalUser": …}` may name (the 64-hex canonical id). */
  canonicalUser: string[];
  /** `{"Federated": …}`: the OIDC issuer of a web-identity session. */
  federated: string[];
}

/** One request as a policy sees it. */
export interface PolicyRequest {
  /** `s3:GetObject`, `rfs:Admin`, … (the service prefix and name match case-insensitively). */
  action: string;
  /** `arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/key`, or `*` for ListAllMyBuckets. */
  resource: string;
  principal: PolicyPrincipal;
  /**
   * Condition keys and their values for this request. Keys are matched case-insensitively up
   * to the first '/', the rest (a tag key) exactly: `aws:sourceip`, `s3:existingobjecttag/Env`.
   * A key that is absent has no value (Null: true; `…IfExists` operators then match).
   */
  context: ReadonlyMap<string, readonly string[]>;
  /** Values for policy variables `${aws:username}`, `${aws:userid}` in Resource and conditions
   * (same key normalisation as context). */
  variables?: ReadonlyMap<string, string>;
}

/** An explicit Deny, an Allow, or no statement applies. */
export type Decision = 'Deny' | 'Allow' | undefined;

export interface CompiledPolicy {
  /** The text as given (GetBucketPolicy returns it unchanged). */
  readonly text: string;
  /** Lower-cased condition keys the policy reads (prefix part only for tag keys, e.g.
   * `s3:existingobjecttag/`), so a caller computes costly values only when needed. */
  readonly conditionKeys: ReadonlySet<string>;
  /** True when some Allow statement grants to everyone (`*` or `{"AWS":"*"}`) without a
   * condition that narrows it to known callers: what PublicAccessBlock and
   * GetBucketPolicyStatus call "public" (AWS's definition, see its docs). */
  readonly isPublic: boolean;
  evaluate(request: PolicyRequest): Decision;
}
