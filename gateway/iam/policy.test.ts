import { evaluatePolicies, parsePolicy, PolicyError } from './policy';
import type { PolicyPrincipal, PolicyRequest } from './policy-types';

/**
 * The policy language's elements, from AWS's documentation (each block names its page), with
 * S3's and IAM's messages for malformed documents, and matching at its edges.
 */

const ANONYMOUS: PolicyPrincipal = { anonymous: true, aws: [], canonicalUser: [], federated: [] };
const ALICE: PolicyPrincipal = { anonymous: false, aws: ['arn:aws:iam:::user/alice'], canonicalUser: ['a'.repeat(64)], federated: [] };

function request(action: string, resource: string, principal: PolicyPrincipal = ALICE, extra: Partial<PolicyRequest> = {}): PolicyRequest {
  return { action, resource, principal, context: new Map(), ...extra };
}

/** A policy document; version null leaves Version out. */
const doc = (statement: unknown, version: string | null = '2012-10-17') =>
  JSON.stringify(version === null ? { Statement: statement } : { Version: version, Statement: statement });

const bucketPolicy = (statement: unknown, version?: string | null) => parsePolicy(doc(statement, version), 'resource', { bucket: 'bucket' });
const identityPolicy = (statement: unknown, version?: string | null) => parsePolicy(doc(statement, version), 'identity');

function errorOf(parse: () => unknown): PolicyError {
  try {
    parse();
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('parsed without an error');
}

const bucketError = (text: string) => errorOf(() => parsePolicy(text, 'resource', { bucket: 'bucket' })).message;
const identityError = (text: string) => errorOf(() => parsePolicy(text, 'identity')).message;

const PUBLIC_READ = { Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*' };

describe('malformed bucket policies, in S3\'s words', () => {
  const s = (statement: Record<string, unknown>) => doc({ ...PUBLIC_READ, ...statement });
  const cases: [string, string][] = [
    ['', "Policies must be valid JSON and the first byte must be '{'"],
    [' {"Statement": []}', "Policies must be valid JSON and the first byte must be '{'"],
    ['{"Statement": [', 'This policy contains invalid Json'],
    ['{"Version": "2012-10-17"}', 'Missing required field Statement'],
    ['{"Statement": []}', 'Could not parse the policy: Statement is empty!'],
    [doc(PUBLIC_READ, '2012-10-18'), 'The policy must contain a valid version string'],
    [JSON.stringify({ Version: '2012-10-17', Statement: [PUBLIC_READ], Extra: 1 }), 'Unknown field Extra'],
    [s({ Effects: 'Allow' }), 'Unknown field Effects'],
    [s({ Effect: undefined }), 'Missing required field Effect'],
    [s({ Effect: 'hello' }), 'Invalid effect: hello'],
    [s({ Principal: undefined }), 'Missing required field Principal'],
    [s({ Principal: 'arn:aws:iam::111122223333:root' }), 'Invalid principal in policy'],
    [s({ Principal: { AWS: 'alice' } }), 'Invalid principal in policy'],
    [s({ Principal: { AWS: 'arn:aws:iam::111122223333:user/*' } }), 'Invalid principal in policy'],
    [s({ Principal: { AWS: [] } }), 'Invalid principal in policy'],
    [s({ Principal: {} }), 'Invalid principal in policy'],
    [s({ Principal: { Group: 'everyone' } }), 'Invalid principal in policy'],
    [s({ NotPrincipal: { AWS: '111122223333' } }), 'Statement/policy already has instance of Principal'],
    [s({ NotAction: 's3:PutObject' }), 'Statement/policy already has instance of Action'],
    [s({ Action: undefined }), 'Missing required field Action'],
    [s({ Action: [] }), 'Missing required field Action cannot be empty!'],
    [s({ Action: 'invalid_action' }), 'Policy has invalid action'],
    [s({ Action: 's3:GetObjectz' }), 'Policy has invalid action'],
    [s({ Action: 's3:Foo*' }), 'Policy has invalid action'],
    [s({ Action: 'iam:CreateUser' }), 'Policy has invalid action'],
    [s({ Action: 'rfs:Admin' }), 'Policy has invalid action'],
    [s({ Resource: undefined }), 'Missing required field Resource'],
    [s({ Resource: [] }), 'Missing required field Resource cannot be empty!'],
    [s({ Resource: '*' }), 'Policy has invalid resource'],
    [s({ Resource: 'arn:aws:s3:::other/*' }), 'Policy has invalid resource'],
    [s({ Resource: 'arn:aws:s3:::bucket2/*' }), 'Policy has invalid resource'],
    [s({ Resource: 'arn:aws:s3:::bucket*' }), 'Policy has invalid resource'],
    [s({ Resource: 'bucket/*' }), 'Policy has invalid resource'],
    [s({ Resource: 'arn:aws:s3:::bucket' }), 'Action does not apply to any resource(s) in statement'],
    [s({ Action: 's3:ListBucket', Resource: 'arn:aws:s3:::bucket/*' }), 'Action does not apply to any resource(s) in statement'],
    [s({ Sid: 5 }), 'Invalid policy syntax.'],
    [s({ Action: 5 }), 'Invalid policy syntax.'],
    [doc([PUBLIC_READ, PUBLIC_READ]), 'Statement IDs (SID) in a single policy must be unique.'],
    ['{"Statement": {"Effect": "Deny", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}}',
      'Statement/policy already has instance of Effect'],
  ];

  test.each(cases)('%s', (text, message) => {
    expect(bucketError(text)).toBe(message);
  });

  test('S3\'s size limit: 20 KB', () => {
    const big = doc({ ...PUBLIC_READ, Sid: 'x'.repeat(20 * 1024) });
    const error = errorOf(() => parsePolicy(big, 'resource', { bucket: 'bucket' }));
    expect(error.message).toBe('Policy exceeds the maximum allowed document size.');
    expect(error.limitExceeded).toBe(false);
    expect(() => parsePolicy(doc(PUBLIC_READ), 'resource', { bucket: 'bucket', maxBytes: 50 })).toThrow(PolicyError);
  });
});

describe('malformed identity policies, in IAM\'s words', () => {
  const ok = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };
  const s = (statement: Record<string, unknown>) => doc({ ...ok, ...statement });
  const cases: [string, string][] = [
    ['[1]', 'Syntax errors in policy.'],
    ['{"Statement": ', 'Syntax errors in policy.'],
    [s({ Principal: '*' }), 'Policy document should not specify a principal.'],
    [s({ NotPrincipal: { AWS: '111122223333' } }), 'Policy document should not specify a principal.'],
    [s({ Effect: 'allow' }), 'The policy failed legacy parsing'],
    [s({ Effect: 'Permit' }), 'Syntax errors in policy.'],
    [s({ Action: undefined }), 'Policy statement must contain actions.'],
    [s({ Resource: [] }), 'Policy statement must contain resources.'],
    [s({ Action: 'GetObject' }), 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.'],
    [s({ Action: 's3:Get:Object' }), 'Actions/Condition can contain only one colon.'],
    [s({ Action: 's 3:GetObject' }), 'Vendor s 3 is not valid'],
    [s({ Action: 'sts:AssumeRolez' }), 'Policy has invalid action'],
    [s({ Resource: 'bucket/key' }), 'Resource bucket/key must be in ARN format or "*".'],
    [s({ Sid: 'not alnum' }), 'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*'],
    [doc([{ ...ok, Sid: 'A' }, { ...ok, Sid: 'A' }]), 'Statement IDs (SID) in a single policy must be unique.'],
    [JSON.stringify({ Statement: [ok], Conditions: {} }), 'Syntax errors in policy.'],
  ];

  test.each(cases)('%s', (text, message) => {
    expect(identityError(text)).toBe(message);
  });

  test('IAM\'s size limit: 6144 characters, whitespace not counted; LimitExceeded', () => {
    const padded = doc({ ...ok, Sid: 'x'.repeat(5000) }).replace(/,/g, ',' + ' '.repeat(2000));
    expect(() => parsePolicy(padded, 'identity')).not.toThrow();
    const error = errorOf(() => parsePolicy(doc({ ...ok, Sid: 'x'.repeat(6144) }), 'identity'));
    expect(error.message).toBe('Cannot exceed quota for PolicySize: 6144');
    expect(error.limitExceeded).toBe(true);
  });

  test('accepted: Statement as one object, both versions, rfs and sts actions, other vendors, empty Sids', () => {
    expect(() => identityPolicy(ok)).not.toThrow();
    expect(() => identityPolicy([ok], '2008-10-17')).not.toThrow();
    expect(() => identityPolicy([ok], null)).not.toThrow();
    for (const action of ['rfs:*', 'rfs:Admin', 'sts:AssumeRole', 'sts:AssumeRoleWithWebIdentity', 'iam:CreateUser', 's3:Get*', 's3:*Object*', 's3:Get?bject', '*']) {
      expect(() => identityPolicy({ ...ok, Action: action })).not.toThrow();
    }
    expect(() => identityPolicy([{ ...ok, Sid: '' }, { ...ok, Sid: '' }])).not.toThrow();
  });
});

describe('accepted bucket policies ("AWS JSON policy elements: Principal", "Examples of Amazon S3 bucket policies")', () => {
  test.each([
    ['everyone', '*'],
    ['everyone, AWS form', { AWS: '*' }],
    ['an account by id', { AWS: '111122223333' }],
    ['an account by root ARN', { AWS: 'arn:aws:iam::111122223333:root' }],
    ['IAM users and roles', { AWS: ['arn:aws:iam::111122223333:user/Bob', 'arn:aws:iam::111122223333:role/reader'] }],
    ['an assumed-role session', { AWS: 'arn:aws:sts::111122223333:assumed-role/reader/session' }],
    ['an rfs user (no account number)', { AWS: 'arn:aws:iam:::user/alice' }],
    ['a canonical user', { CanonicalUser: 'a'.repeat(64) }],
    ['a web identity provider', { Federated: 'https://keycloak.example.com/realms/rfs' }],
    ['a service', { Service: 'logging.s3.amazonaws.com' }],
  ])('Principal: %s', (_name, principal) => {
    expect(() => bucketPolicy({ ...PUBLIC_READ, Principal: principal })).not.toThrow();
  });

  test('the bucket itself and keys under it, with wildcards and variables in the key part', () => {
    const resources = ['arn:aws:s3:::bucket', 'arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/home/${aws:username}/*', 'arn:aws:s3:::bucket/a?c'];
    expect(() => bucketPolicy({ ...PUBLIC_READ, Action: 's3:*', Resource: resources })).not.toThrow();
  });

  test('NotAction and NotResource skip the action/resource pairing check; s3:* pairs with anything', () => {
    expect(() => bucketPolicy({ ...PUBLIC_READ, Action: undefined, NotAction: 's3:ListBucket' })).not.toThrow();
    expect(() => bucketPolicy({ ...PUBLIC_READ, Action: 's3:*', Resource: 'arn:aws:s3:::bucket' })).not.toThrow();
    expect(() => bucketPolicy({ ...PUBLIC_READ, Resource: undefined, NotResource: 'arn:aws:s3:::bucket' })).not.toThrow();
  });

  test('the text comes back exactly as given', () => {
    const text = `{ "Statement" : ${JSON.stringify(PUBLIC_READ)} }`;
    expect(parsePolicy(text, 'resource', { bucket: 'bucket' }).text).toBe(text);
  });
});

describe('Effect: an explicit Deny wins ("Policy evaluation logic")', () => {
  const allow = { Effect: 'Allow', Action: 's3:*', Resource: '*' };
  const deny = { Effect: 'Deny', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::bucket/*' };

  test('within one policy, whatever the order of its statements', () => {
    for (const statements of [[allow, deny], [deny, allow]]) {
      const policy = identityPolicy(statements);
      expect(policy.evaluate(request('s3:DeleteObject', 'arn:aws:s3:::bucket/k'))).toBe('Deny');
      expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/k'))).toBe('Allow');
    }
  });

  test('across policies; no statement that applies is no decision', () => {
    const allows = identityPolicy(allow);
    const denies = identityPolicy(deny);
    expect(evaluatePolicies([allows, denies], request('s3:DeleteObject', 'arn:aws:s3:::bucket/k'))).toBe('Deny');
    expect(evaluatePolicies([denies, allows], request('s3:GetObject', 'arn:aws:s3:::bucket/k'))).toBe('Allow');
    expect(evaluatePolicies([denies], request('s3:GetObject', 'arn:aws:s3:::bucket/k'))).toBeUndefined();
    expect(evaluatePolicies([], request('s3:GetObject', 'arn:aws:s3:::bucket/k'))).toBeUndefined();
  });
});

describe('Action ("IAM JSON policy elements: Action")', () => {
  test('service prefix and name match case-insensitively; wildcards', () => {
    const policy = identityPolicy({ Effect: 'Allow', Action: ['S3:getobject', 's3:List*', 's3:Put?bject'], Resource: '*' });
    expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::b/k'))).toBe('Allow');
    expect(policy.evaluate(request('S3:GETOBJECT', 'arn:aws:s3:::b/k'))).toBe('Allow');
    expect(policy.evaluate(request('s3:ListBucketVersions', 'arn:aws:s3:::b'))).toBe('Allow');
    expect(policy.evaluate(request('s3:PutObject', 'arn:aws:s3:::b/k'))).toBe('Allow');
    expect(policy.evaluate(request('s3:PutObjectAcl', 'arn:aws:s3:::b/k'))).toBeUndefined();
    expect(policy.evaluate(request('s3:GetObjectAcl', 'arn:aws:s3:::b/k'))).toBeUndefined();
  });

  test('rfs: and sts: actions in identity policies', () => {
    const policy = identityPolicy({ Effect: 'Allow', Action: ['rfs:*', 'sts:AssumeRoleWithWebIdentity'], Resource: '*' });
    expect(policy.evaluate(request('rfs:Admin', '*'))).toBe('Allow');
    expect(policy.evaluate(request('sts:AssumeRoleWithWebIdentity', 'arn:aws:iam:::role/reader'))).toBe('Allow');
    expect(policy.evaluate(request('sts:AssumeRole', 'arn:aws:iam:::role/reader'))).toBeUndefined();
  });

  test('a bucket policy speaks only to S3 requests', () => {
    const policy = bucketPolicy({ ...PUBLIC_READ, Action: '*', Resource: ['arn:aws:s3:::bucket', 'arn:aws:s3:::bucket/*'] });
    expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/k'))).toBe('Allow');
    expect(policy.evaluate(request('rfs:Admin', 'arn:aws:s3:::bucket'))).toBeUndefined();
  });
});

describe('NotAction ("IAM JSON Policy Elements: NotAction")', () => {
  test('Allow NotAction s3:DeleteBucket on arn:aws:s3:::*: every S3 action but that, and no other service', () => {
    const policy = identityPolicy({ Effect: 'Allow', NotAction: 's3:DeleteBucket', Resource: 'arn:aws:s3:::*' });
    expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/k'))).toBe('Allow');
    expect(policy.evaluate(request('s3:PutBucketPolicy', 'arn:aws:s3:::bucket'))).toBe('Allow');
    expect(policy.evaluate(request('s3:DeleteBucket', 'arn:aws:s3:::bucket'))).toBeUndefined();
    // "other service actions are not applicable to the S3 resources"
    expect(policy.evaluate(request('rfs:Admin', '*'))).toBeUndefined();
    expect(policy.evaluate(request('sts:AssumeRole', 'arn:aws:iam:::role/r'))).toBeUndefined();
  });

  test('Allow NotAction iam:* on "*": every action of every other service', () => {
    const policy = identityPolicy({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' });
    expect(policy.evaluate(request('s3:DeleteBucket', 'arn:aws:s3:::bucket'))).toBe('Allow');
    expect(policy.evaluate(request('rfs:Admin', '*'))).toBe('Allow');
    expect(policy.evaluate(request('iam:CreateUser', 'arn:aws:iam:::user/x'))).toBeUndefined();
  });

  test('DenyAllUsersNotUsingMFA: Deny NotAction iam:* with BoolIfExists', () => {
    const policy = identityPolicy({
      Sid: 'DenyAllUsersNotUsingMFA', Effect: 'Deny', NotAction: 'iam:*', Resource: '*',
      Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
    });
    const ask = (action: string, mfa?: string) =>
      policy.evaluate({ ...request(action, '*'), context: new Map(mfa === undefined ? [] : [['aws:multifactorauthpresent', [mfa]]]) });
    expect(ask('s3:GetObject', 'false')).toBe('Deny');
    expect(ask('s3:GetObject')).toBe('Deny');
    expect(ask('s3:GetObject', 'true')).toBeUndefined();
    expect(ask('iam:ListUsers', 'false')).toBeUndefined();
  });
});

describe('Resource and NotResource ("IAM JSON policy elements: Resource", "…: NotResource")', () => {
  const home = bucketPolicy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/home/alice/*' });
  const get = (key: string) => home.evaluate(request('s3:GetObject', `arn:aws:s3:::bucket/${key}`));

  test('a key prefix grants what is under it and nothing beside it', () => {
    expect(get('home/alice/x')).toBe('Allow');
    expect(get('home/alice/deep/er/x')).toBe('Allow');
    expect(get('home/alice2/x')).toBeUndefined();
    expect(get('home/alice')).toBeUndefined();
    expect(get('home/Alice/x')).toBeUndefined();
  });

  test('keys are opaque: no Unicode folding, no percent-decoding, no path resolution', () => {
    expect(get('home/ａlice/x')).toBeUndefined(); // fullwidth a
    expect(get('home/alicе/x')).toBeUndefined(); // Cyrillic e
    expect(get('home%2Falice/x')).toBeUndefined();
    expect(get('home/alice%2Fx')).toBeUndefined();
    expect(get('home/bob/../alice/x')).toBeUndefined();
    // `..` is two characters of a key S3 never resolves: this key lies under home/alice/.
    expect(get('home/alice/../bob/x')).toBe('Allow');
    const bob = bucketPolicy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/home/bob/*' });
    expect(bob.evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/home/alice/../bob/x'))).toBeUndefined();
  });

  test('? is one character, * any run including slashes and colons', () => {
    const policy = identityPolicy({ Effect: 'Allow', Action: 's3:GetObject', Resource: ['arn:aws:s3:::b/v?/*', 'arn:aws:s3:::b/*.jpg'] });
    const get2 = (key: string) => policy.evaluate(request('s3:GetObject', `arn:aws:s3:::b/${key}`));
    expect(get2('v1/x')).toBe('Allow');
    expect(get2('v😀/x')).toBe('Allow');
    expect(get2('v12/x')).toBeUndefined();
    expect(get2('a/b:c/d.jpg')).toBe('Allow');
    expect(get2('a.jpeg')).toBeUndefined();
  });

  test('wildcards in the ARN\'s own segments never span a colon', () => {
    const policy = identityPolicy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s*:*:*:b/*' });
    expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::b/k'))).toBe('Allow');
    expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:x:y:z:b/k'))).toBeUndefined();
  });

  test('NotResource: everything but the listed resources', () => {
    const policy = identityPolicy({ Effect: 'Allow', Action: 's3:GetObject', NotResource: 'arn:aws:s3:::bucket/private/*' });
    expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/public/x'))).toBe('Allow');
    expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/private/x'))).toBeUndefined();
  });

  test('ListAllMyBuckets (resource "*") is granted by "*" and by arn:aws:s3:::*', () => {
    // The Condition operators page's home-directory example grants it with arn:aws:s3:::* (the
    // NotAction page says that ARN does not cover it; rfs follows the working example).
    for (const resource of ['*', 'arn:aws:s3:::*']) {
      const policy = identityPolicy({ Effect: 'Allow', Action: ['s3:ListAllMyBuckets', 's3:GetBucketLocation'], Resource: resource });
      expect(policy.evaluate(request('s3:ListAllMyBuckets', '*'))).toBe('Allow');
    }
    const one = identityPolicy({ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: 'arn:aws:s3:::bucket' });
    expect(one.evaluate(request('s3:ListAllMyBuckets', '*'))).toBeUndefined();
  });
});

describe('policy variables in Resource ("IAM policy elements: Variables and tags")', () => {
  const statements = [
    { Action: ['s3:ListBucket'], Effect: 'Allow', Resource: ['arn:aws:s3:::mybucket'], Condition: { StringLike: { 's3:prefix': ['${aws:username}/*'] } } },
    { Action: ['s3:GetObject', 's3:PutObject'], Effect: 'Allow', Resource: ['arn:aws:s3:::mybucket/${aws:username}/*'] },
  ];
  const as = (user: string | undefined, action: string, resource: string, prefix?: string) =>
    identityPolicy(statements).evaluate({
      ...request(action, resource),
      variables: new Map(user === undefined ? [] : [['aws:username', user]]),
      context: new Map(prefix === undefined ? [] : [['s3:prefix', [prefix]]]),
    });

  test('each user reaches only its own prefix', () => {
    expect(as('David', 's3:GetObject', 'arn:aws:s3:::mybucket/David/notes.txt')).toBe('Allow');
    expect(as('David', 's3:PutObject', 'arn:aws:s3:::mybucket/Adele/notes.txt')).toBeUndefined();
    expect(as('David', 's3:ListBucket', 'arn:aws:s3:::mybucket', 'David/')).toBe('Allow');
    expect(as('David', 's3:ListBucket', 'arn:aws:s3:::mybucket', 'Adele/')).toBeUndefined();
  });

  test('a variable\'s value is literal in the resource; an unknown user gets nothing', () => {
    expect(as('*', 's3:GetObject', 'arn:aws:s3:::mybucket/David/notes.txt')).toBeUndefined();
    expect(as('*', 's3:GetObject', 'arn:aws:s3:::mybucket/*/notes.txt')).toBe('Allow');
    expect(as(undefined, 's3:GetObject', 'arn:aws:s3:::mybucket/${aws:username}/notes.txt')).toBeUndefined();
  });

  test('version 2008-10-17 (or none) reads ${aws:username} as text', () => {
    for (const version of ['2008-10-17', null]) {
      const policy = identityPolicy(statements[1], version);
      const ask = (key: string) => policy.evaluate({ ...request('s3:GetObject', `arn:aws:s3:::mybucket/${key}`), variables: new Map([['aws:username', 'David']]) });
      expect(ask('David/x')).toBeUndefined();
      expect(ask('${aws:username}/x')).toBe('Allow');
    }
  });

  test('a default value stands in for a missing variable', () => {
    const policy = identityPolicy({ Effect: 'Allow', Action: 's3:GetObject', Resource: "arn:aws:s3:::b/${aws:userid, 'anonymous'}/*" });
    expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::b/anonymous/x'))).toBe('Allow');
    expect(policy.evaluate({ ...request('s3:GetObject', 'arn:aws:s3:::b/AIDA1/x'), variables: new Map([['aws:userid', 'AIDA1']]) })).toBe('Allow');
  });
});

describe('Principal ("AWS JSON policy elements: Principal")', () => {
  const grant = (principal: unknown) => bucketPolicy({ ...PUBLIC_READ, Principal: principal });
  const get = (policy: ReturnType<typeof grant>, who: PolicyPrincipal) => policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/k', who));
  const bob: PolicyPrincipal = {
    anonymous: false,
    aws: ['arn:aws:iam::444455556666:user/Bob', '444455556666', 'arn:aws:iam::444455556666:root'],
    canonicalUser: ['b'.repeat(64)],
    federated: [],
  };

  test('"*" and {"AWS": "*"} include anonymous callers', () => {
    expect(get(grant('*'), ANONYMOUS)).toBe('Allow');
    expect(get(grant({ AWS: '*' }), ANONYMOUS)).toBe('Allow');
    expect(get(grant({ AWS: '*' }), ALICE)).toBe('Allow');
  });

  test('a named principal: anyone the request goes by; an account id is its root ARN', () => {
    expect(get(grant({ AWS: 'arn:aws:iam:::user/alice' }), ALICE)).toBe('Allow');
    expect(get(grant({ AWS: 'arn:aws:iam:::user/alice' }), ANONYMOUS)).toBeUndefined();
    expect(get(grant({ AWS: 'arn:aws:iam:::user/alice2' }), ALICE)).toBeUndefined();
    expect(get(grant({ AWS: '444455556666' }), { ...bob, aws: ['arn:aws:iam::444455556666:root'] })).toBe('Allow');
    expect(get(grant({ AWS: 'arn:aws:iam::444455556666:root' }), { ...bob, aws: ['444455556666'] })).toBe('Allow');
    expect(get(grant({ CanonicalUser: 'a'.repeat(64) }), ALICE)).toBe('Allow');
    expect(get(grant({ Federated: 'https://issuer' }), { ...ALICE, federated: ['https://issuer'] })).toBe('Allow');
    expect(get(grant({ Service: 'logging.s3.amazonaws.com' }), ALICE)).toBeUndefined();
  });

  test('NotPrincipal with Deny: all but Bob, when both Bob and his account are listed', () => {
    const policy = bucketPolicy([
      PUBLIC_READ,
      { Effect: 'Deny', NotPrincipal: { AWS: ['arn:aws:iam::444455556666:user/Bob', 'arn:aws:iam::444455556666:root'] }, Action: 's3:*', Resource: ['arn:aws:s3:::bucket', 'arn:aws:s3:::bucket/*'] },
    ]);
    expect(get(policy, { ...bob, aws: ['arn:aws:iam::444455556666:user/Bob', 'arn:aws:iam::444455556666:root'] })).toBe('Allow');
    expect(get(policy, { ...bob, aws: ['arn:aws:iam::444455556666:user/Carol', 'arn:aws:iam::444455556666:root'] })).toBe('Deny');
    expect(get(policy, ALICE)).toBe('Deny');
    expect(get(policy, ANONYMOUS)).toBe('Deny');
  });

  test('NotPrincipal with Deny listing only Bob still denies Bob (his account is not listed)', () => {
    const policy = bucketPolicy([
      PUBLIC_READ,
      { Effect: 'Deny', NotPrincipal: { AWS: 'arn:aws:iam::444455556666:user/Bob' }, Action: 's3:*', Resource: 'arn:aws:s3:::bucket/*' },
    ]);
    expect(get(policy, { ...bob, aws: ['arn:aws:iam::444455556666:user/Bob', 'arn:aws:iam::444455556666:root'] })).toBe('Deny');
  });

  test('NotPrincipal with Allow grants to everyone not named, anonymous callers included', () => {
    const notBob = bucketPolicy({ ...PUBLIC_READ, Principal: undefined, NotPrincipal: { AWS: 'arn:aws:iam::444455556666:user/Bob' } });
    expect(get(notBob, ANONYMOUS)).toBe('Allow');
    expect(get(notBob, ALICE)).toBe('Allow');
    expect(get(notBob, bob)).toBeUndefined();
  });
});

describe('Examples of Amazon S3 bucket policies', () => {
  test('read-only permission to anonymous users', () => {
    const policy = bucketPolicy(PUBLIC_READ);
    expect(policy.evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/index.html', ANONYMOUS))).toBe('Allow');
    expect(policy.evaluate(request('s3:PutObject', 'arn:aws:s3:::bucket/index.html', ANONYMOUS))).toBeUndefined();
    expect(policy.evaluate(request('s3:ListBucket', 'arn:aws:s3:::bucket', ANONYMOUS))).toBeUndefined();
  });

  test('deny requests that are not over HTTPS', () => {
    const policy = bucketPolicy([
      PUBLIC_READ,
      { Sid: 'RestrictToTLSRequestsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::bucket', 'arn:aws:s3:::bucket/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ]);
    const ask = (secure: string) => policy.evaluate({ ...request('s3:GetObject', 'arn:aws:s3:::bucket/k', ANONYMOUS), context: new Map([['aws:securetransport', [secure]]]) });
    expect(ask('false')).toBe('Deny');
    expect(ask('true')).toBe('Allow');
  });

  test('restrict access to IP ranges: deny outside them', () => {
    const policy = bucketPolicy([
      PUBLIC_READ,
      { Sid: 'IPAllow', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::bucket', 'arn:aws:s3:::bucket/*'], Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:DB8:1234:5678::/64'] } } },
    ]);
    const from = (ip: string) => policy.evaluate({ ...request('s3:GetObject', 'arn:aws:s3:::bucket/k', ANONYMOUS), context: new Map([['aws:sourceip', [ip]]]) });
    expect(from('192.0.2.10')).toBe('Allow');
    expect(from('2001:db8:1234:5678::9')).toBe('Allow');
    expect(from('203.0.113.1')).toBe('Deny');
  });

  test('objects readable only when tagged environment=production (s3:ExistingObjectTag)', () => {
    const policy = bucketPolicy({ ...PUBLIC_READ, Condition: { StringEquals: { 's3:ExistingObjectTag/environment': 'production' } } });
    const tagged = (value?: string) => policy.evaluate({ ...request('s3:GetObject', 'arn:aws:s3:::bucket/k', ALICE), context: new Map(value ? [['s3:existingobjecttag/environment', [value]]] : []) });
    expect(tagged('production')).toBe('Allow');
    expect(tagged('staging')).toBeUndefined();
    expect(tagged()).toBeUndefined();
    expect([...policy.conditionKeys]).toEqual(['s3:existingobjecttag/']);
  });

  test('uploads must grant the bucket owner full control (s3:x-amz-acl)', () => {
    const policy = bucketPolicy({ ...PUBLIC_READ, Principal: { AWS: 'arn:aws:iam:::user/alice' }, Action: 's3:PutObject', Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } });
    const put = (acl?: string) => policy.evaluate({ ...request('s3:PutObject', 'arn:aws:s3:::bucket/k'), context: new Map(acl ? [['s3:x-amz-acl', [acl]]] : []) });
    expect(put('bucket-owner-full-control')).toBe('Allow');
    expect(put('public-read')).toBeUndefined();
    expect(put()).toBeUndefined();
  });
});

describe('conditionKeys', () => {
  test('lower-cased keys, tag keys by prefix, and the variables read', () => {
    const policy = identityPolicy([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/${aws:username}/*', Condition: { IpAddress: { 'AWS:SourceIp': '10.0.0.0/8' } } },
      { Effect: 'Deny', Action: 's3:PutObject', Resource: '*', Condition: { 'ForAnyValue:StringLike': { 's3:RequestObjectTagKeys': 'secret*', 's3:RequestObjectTag/Class': '${aws:PrincipalTag/Class}' } } },
    ]);
    expect([...policy.conditionKeys].sort()).toEqual([
      'aws:principaltag/', 'aws:sourceip', 'aws:username', 's3:requestobjecttag/', 's3:requestobjecttagkeys',
    ]);
    expect(identityPolicy({ Effect: 'Allow', Action: '*', Resource: '*' }).conditionKeys.size).toBe(0);
  });
});

describe('isPublic ("Blocking public access to your Amazon S3 storage": The meaning of "public")', () => {
  const isPublic = (statement: Record<string, unknown> | Record<string, unknown>[]) => bucketPolicy(statement).isPublic;
  // AWS's examples name Resource "*", which a bucket policy refuses: here, the bucket's objects.
  const put = { Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::bucket/*' };

  test('AWS\'s public examples: a Federated provider, "*", "*" narrowed only by a wildcard', () => {
    expect(isPublic({ ...put, Principal: { Federated: 'graph.facebook.com' } })).toBe(true);
    expect(isPublic({ ...put, Principal: '*' })).toBe(true);
    expect(isPublic({ ...put, Principal: '*', Condition: { StringLike: { 'aws:SourceVpc': 'vpc-*' } } })).toBe(true);
  });

  test('made non-public by a fixed value of aws:SourceVpc', () => {
    expect(isPublic({ ...put, Principal: '*', Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-91237329' } } })).toBe(false);
  });

  test('fixed values of the other listed keys narrow too; variables and ?-wildcards do not', () => {
    const narrowed = (condition: unknown) => isPublic({ ...put, Principal: { AWS: '*' }, Condition: condition });
    expect(narrowed({ StringEquals: { 'aws:PrincipalOrgID': 'o-xxxxxxxxxxx' } })).toBe(false);
    expect(narrowed({ StringEquals: { 'aws:SourceAccount': '111122223333' } })).toBe(false);
    expect(narrowed({ ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:us-east-1:111122223333:topic' } })).toBe(false);
    expect(narrowed({ StringEquals: { 'aws:userid': 'AIDAEXAMPLE' } })).toBe(false);
    expect(narrowed({ StringLike: { 'aws:userid': 'AROLEID:*' } })).toBe(true);
    expect(narrowed({ StringEquals: { 'aws:userid': '${aws:username}' } })).toBe(true);
    expect(narrowed({ StringEquals: { 'aws:SourceAccount': '11112222333?' } })).toBe(true);
    expect(narrowed({ StringEquals: { 'aws:username': 'alice' } })).toBe(true);
    expect(narrowed({ Bool: { 'aws:SecureTransport': 'true' } })).toBe(true);
  });

  test('conditions that do not require the key do not narrow: IfExists, ForAllValues, negated operators', () => {
    const narrowed = (condition: unknown) => isPublic({ ...put, Principal: '*', Condition: condition });
    expect(narrowed({ StringEqualsIfExists: { 'aws:SourceVpc': 'vpc-91237329' } })).toBe(true);
    expect(narrowed({ 'ForAllValues:StringEquals': { 'aws:SourceVpc': 'vpc-91237329' } })).toBe(true);
    expect(narrowed({ StringNotEquals: { 'aws:SourceVpc': 'vpc-91237329' } })).toBe(true);
  });

  test('aws:SourceIp narrows unless a block is wider than /8 (IPv4) or /32 (IPv6)', () => {
    const from = (blocks: string[]) => isPublic({ ...put, Principal: '*', Condition: { IpAddress: { 'aws:SourceIp': blocks } } });
    expect(from(['203.0.113.0/24'])).toBe(false);
    expect(from(['10.0.0.0/8', '2001:db8::/32'])).toBe(false);
    expect(from(['0.0.0.0/1'])).toBe(true);
    expect(from(['0.0.0.0/0'])).toBe(true);
    expect(from(['203.0.113.0/24', '2001:db8::/31'])).toBe(true);
  });

  test('fixed principals, Deny statements and NotPrincipal', () => {
    expect(isPublic({ ...put, Principal: { AWS: 'arn:aws:iam::111122223333:root' } })).toBe(false);
    expect(isPublic({ ...put, Principal: { CanonicalUser: 'a'.repeat(64) } })).toBe(false);
    expect(isPublic({ ...put, Principal: { Service: 'cloudtrail.amazonaws.com' } })).toBe(false);
    expect(isPublic({ ...put, Effect: 'Deny', Principal: '*' })).toBe(false);
    expect(isPublic({ ...put, NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' } })).toBe(true);
  });

  test('one public statement makes the whole policy public (the CloudTrail / Account-2 / "*" example)', () => {
    const cloudTrail = { ...put, Sid: 'CloudTrail', Principal: { Service: 'cloudtrail.amazonaws.com' } };
    const account2 = { ...put, Sid: 'Account2', Principal: { AWS: '222222222222' } };
    const everyone = { ...put, Sid: 'Everyone', Principal: '*' };
    expect(isPublic([cloudTrail, account2, everyone])).toBe(true);
    expect(isPublic([cloudTrail, account2])).toBe(false);
  });

  test('an identity policy is never public', () => {
    expect(identityPolicy({ Effect: 'Allow', Action: '*', Resource: '*' }).isPublic).toBe(false);
  });
});
