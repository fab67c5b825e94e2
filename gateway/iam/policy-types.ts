/**
 * The seam between authorize() and the policy language (policy.ts). A policy document is
 * parsed and compiled once (bucket policies when set, named policies when loaded) and then
 * evaluated per request without parsing anything.
 */

/** Who makes the request, as a resource policy's Principal can name it. */
export interface PolicyPrincipal {
  anonymous: boolean;
  /** Values `{"AWS": …}` may name: the user's ARN, its account id and `arn:aws:iam::<account>:root`,
   * a session's assumed-role ARN. Empty for anonymous. A Principal matches when it lists any
   * of them; a Deny's NotPrincipal spares the caller only when it lists all of them (AWS
   * evaluates the account, the role and the session each). */
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
  /** `arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/key`, or `*` for an action without a resource
   * (ListAllMyBuckets, rfs's admin actions), which a Resource of `*` or one covering the whole
   * service (`arn:aws:s3:::*`) matches. Keys are compared as they are: no decoding, no folding. */
  resource: string;
  principal: PolicyPrincipal;
  /**
   * Condition keys and their values for this request, keyed as policies' keys are normalised
   * (so policies match them case-insensitively): lower-cased up to the first '/', the rest (a
   * tag key) as is: `aws:sourceip`, `s3:existingobjecttag/Env`. A key that is absent, or has
   * no values, has no value (Null: true; `…IfExists` operators then match).
   */
  context: ReadonlyMap<string, readonly string[]>;
  /** Values for policy variables `${aws:username}`, `${aws:userid}` in Resource and conditions
   * (same key normalisation as context). A variable not here is read from a context key with
   * exactly one value; one found nowhere (and without a default) voids its statement. */
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
