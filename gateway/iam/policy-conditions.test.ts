import { parsePolicy } from './policy';
import { cidrContains, parseAddress, parseCidr, parseDate } from './policy-conditions';
import type { PolicyRequest } from './policy-types';

/**
 * The Condition element, case by case from AWS's documentation; each block names the page.
 * Conditions are exercised through a one-statement policy, as authorize() uses them.
 */

type Context = Record<string, string | string[]>;

function request(context: Context = {}, variables: Record<string, string> = {}): PolicyRequest {
  const entries = Object.entries(context).map(([k, v]) => [k, Array.isArray(v) ? v : [v]] as const);
  return {
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::bucket/key',
    principal: { anonymous: false, aws: ['arn:aws:iam:::user/alice'], canonicalUser: ['a'.repeat(64)], federated: [] },
    context: new Map(entries),
    variables: new Map(Object.entries(variables)),
  };
}

function policyWith(condition: unknown, version = '2012-10-17') {
  const statement = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: condition };
  return parsePolicy(JSON.stringify({ Version: version, Statement: statement }), 'identity');
}

/** Does a statement with this Condition apply to a request with this context? */
function holds(condition: unknown, context: Context = {}, variables: Record<string, string> = {}, version?: string): boolean {
  return policyWith(condition, version).evaluate(request(context, variables)) === 'Allow';
}

function bucketPolicyError(condition: unknown): string | undefined {
  const statement = { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*', Condition: condition };
  try {
    parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statement }), 'resource', { bucket: 'bucket' });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function identityPolicyError(condition: unknown): string | undefined {
  try {
    policyWith(condition);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('string operators ("IAM JSON policy elements: Condition operators", "IAM JSON policy elements: Condition")', () => {
  test('StringEquals is case-sensitive: johndoe matches, JohnDoe does not', () => {
    const condition = { StringEquals: { 'aws:username': 'johndoe' } };
    expect(holds(condition, { 'aws:username': 'johndoe' })).toBe(true);
    expect(holds(condition, { 'aws:username': 'JohnDoe' })).toBe(false);
  });

  test('StringEqualsIgnoreCase matches johndoe and JohnDoe', () => {
    const condition = { StringEqualsIgnoreCase: { 'aws:username': 'johndoe' } };
    expect(holds(condition, { 'aws:username': 'johndoe' })).toBe(true);
    expect(holds(condition, { 'aws:username': 'JohnDoe' })).toBe(true);
    expect(holds(condition, { 'aws:username': 'john' })).toBe(false);
  });

  test('StringNotEquals and StringNotEqualsIgnoreCase', () => {
    expect(holds({ StringNotEquals: { 'aws:username': 'johndoe' } }, { 'aws:username': 'JohnDoe' })).toBe(true);
    expect(holds({ StringNotEquals: { 'aws:username': 'johndoe' } }, { 'aws:username': 'johndoe' })).toBe(false);
    expect(holds({ StringNotEqualsIgnoreCase: { 'aws:username': 'johndoe' } }, { 'aws:username': 'JOHNDOE' })).toBe(false);
    expect(holds({ StringNotEqualsIgnoreCase: { 'aws:username': 'johndoe' } }, { 'aws:username': 'jane' })).toBe(true);
  });

  test('StringLike on s3:prefix with a policy variable: the home-directory example', () => {
    const condition = { StringLike: { 's3:prefix': ['', 'home/', 'home/${aws:username}/'] } };
    const vars = { 'aws:username': 'david' };
    expect(holds(condition, { 's3:prefix': '' }, vars)).toBe(true);
    expect(holds(condition, { 's3:prefix': 'home/' }, vars)).toBe(true);
    expect(holds(condition, { 's3:prefix': 'home/david/' }, vars)).toBe(true);
    expect(holds(condition, { 's3:prefix': 'home/bob/' }, vars)).toBe(false);
    // Without a wildcard StringLike is an exact match.
    expect(holds(condition, { 's3:prefix': 'home/david/photos/' }, vars)).toBe(false);
  });

  test('StringLike wildcards: * spans any run (slashes too), ? exactly one character', () => {
    expect(holds({ StringLike: { 's3:prefix': 'David/*' } }, { 's3:prefix': 'David/a/b/c' })).toBe(true);
    expect(holds({ StringLike: { 's3:prefix': 'David/*' } }, { 's3:prefix': 'david/a' })).toBe(false);
    expect(holds({ StringLike: { 's3:prefix': 'v?' } }, { 's3:prefix': 'v1' })).toBe(true);
    expect(holds({ StringLike: { 's3:prefix': 'v?' } }, { 's3:prefix': 'v12' })).toBe(false);
    expect(holds({ StringLike: { 's3:prefix': 'v?' } }, { 's3:prefix': 'v😀' })).toBe(true);
  });

  test('StringNotLike', () => {
    expect(holds({ StringNotLike: { 's3:prefix': 'private/*' } }, { 's3:prefix': 'public/x' })).toBe(true);
    expect(holds({ StringNotLike: { 's3:prefix': 'private/*' } }, { 's3:prefix': 'private/x' })).toBe(false);
  });

  test('a missing key: positive operators false, negated ones true (the "Important" note)', () => {
    expect(holds({ StringEquals: { 'aws:PrincipalTag/job-category': 'iamuser-admin' } })).toBe(false);
    expect(holds({ StringLike: { 's3:prefix': '*' } })).toBe(false);
    expect(holds({ StringNotLike: { 's3:prefix': 'private/*' } })).toBe(true);
    expect(holds({ StringNotEquals: { 'aws:username': 'x' } })).toBe(true);
  });

  test('condition key names are case-insensitive (aws:SourceIP is AWS:SourceIp)', () => {
    expect(holds({ StringEquals: { 'AWS:UserName': 'johndoe' } }, { 'aws:username': 'johndoe' })).toBe(true);
  });

  test('tag keys after the slash keep their case, the prefix does not', () => {
    const condition = { StringEquals: { 'S3:ExistingObjectTag/Env': 'prod' } };
    expect(holds(condition, { 's3:existingobjecttag/Env': 'prod' })).toBe(true);
    expect(holds(condition, { 's3:existingobjecttag/env': 'prod' })).toBe(false);
  });
});

describe('numeric operators ("IAM JSON policy elements: Condition operators")', () => {
  test('NumericLessThanEquals on s3:max-keys: up to 10 objects', () => {
    const condition = { NumericLessThanEquals: { 's3:max-keys': '10' } };
    expect(holds(condition, { 's3:max-keys': '10' })).toBe(true);
    expect(holds(condition, { 's3:max-keys': '5' })).toBe(true);
    expect(holds(condition, { 's3:max-keys': '11' })).toBe(false);
    expect(holds(condition, {})).toBe(false);
  });

  test('every numeric operator, integers and decimals', () => {
    const ctx = { 's3:max-keys': '10' };
    expect(holds({ NumericEquals: { 's3:max-keys': '10.0' } }, ctx)).toBe(true);
    expect(holds({ NumericNotEquals: { 's3:max-keys': '10' } }, ctx)).toBe(false);
    expect(holds({ NumericNotEquals: { 's3:max-keys': '9' } }, ctx)).toBe(true);
    expect(holds({ NumericLessThan: { 's3:max-keys': '10' } }, ctx)).toBe(false);
    expect(holds({ NumericLessThan: { 's3:max-keys': '10.5' } }, ctx)).toBe(true);
    expect(holds({ NumericGreaterThan: { 's3:max-keys': '9.99' } }, ctx)).toBe(true);
    expect(holds({ NumericGreaterThanEquals: { 's3:max-keys': '10' } }, ctx)).toBe(true);
    expect(holds({ NumericGreaterThanEquals: { 's3:max-keys': 11 } }, ctx)).toBe(false);
  });

  test('a request value that is not a number matches nothing', () => {
    expect(holds({ NumericLessThan: { 's3:max-keys': '10' } }, { 's3:max-keys': 'ten' })).toBe(false);
  });

  test('a policy value that is not a number is refused; variables are not read in numeric values', () => {
    expect(identityPolicyError({ NumericEquals: { 's3:max-keys': 'ten' } })).toBe('Syntax errors in policy.');
    expect(identityPolicyError({ NumericEquals: { 's3:max-keys': '${aws:username}' } })).toBe('Syntax errors in policy.');
    expect(bucketPolicyError({ NumericEquals: { 's3:max-keys': '' } })).toBe('Invalid policy syntax.');
  });
});

describe('date operators ("IAM JSON policy elements: Condition operators")', () => {
  test('DateGreaterThan on aws:TokenIssueTime: credentials issued after 2020-01-01T00:00:01Z', () => {
    const condition = { DateGreaterThan: { 'aws:TokenIssueTime': '2020-01-01T00:00:01Z' } };
    expect(holds(condition, { 'aws:tokenissuetime': '2020-06-01T00:00:00Z' })).toBe(true);
    expect(holds(condition, { 'aws:tokenissuetime': '2020-01-01T00:00:01Z' })).toBe(false);
    // "The key is not present in … requests that are made using access keys."
    expect(holds(condition, {})).toBe(false);
  });

  test('the Condition block example: DateGreaterThan aws:CurrentTime 2013-12-15T12:00:00Z', () => {
    const condition = { DateGreaterThan: { 'aws:CurrentTime': '2013-12-15T12:00:00Z' } };
    expect(holds(condition, { 'aws:currenttime': new Date(Date.UTC(2026, 0, 1)).toISOString() })).toBe(true);
    expect(holds(condition, { 'aws:currenttime': '2013-12-15T11:59:59.999Z' })).toBe(false);
  });

  test('epoch seconds on either side compare with ISO 8601 dates', () => {
    const epoch = String(Date.UTC(2020, 0, 1, 0, 0, 1) / 1000);
    expect(holds({ DateEquals: { 'aws:EpochTime': '2020-01-01T00:00:01Z' } }, { 'aws:epochtime': epoch })).toBe(true);
    expect(holds({ DateEquals: { 'aws:CurrentTime': epoch } }, { 'aws:currenttime': '2020-01-01T00:00:01.000Z' })).toBe(true);
    expect(holds({ DateLessThan: { 'aws:EpochTime': epoch } }, { 'aws:epochtime': String(Number(epoch) - 1) })).toBe(true);
  });

  test('every date operator', () => {
    const ctx = { 'aws:currenttime': '2020-01-01T12:00:00Z' };
    expect(holds({ DateEquals: { 'aws:CurrentTime': '2020-01-01T12:00:00Z' } }, ctx)).toBe(true);
    expect(holds({ DateNotEquals: { 'aws:CurrentTime': '2020-01-01T12:00:00Z' } }, ctx)).toBe(false);
    expect(holds({ DateLessThan: { 'aws:CurrentTime': '2020-01-01T12:00:00Z' } }, ctx)).toBe(false);
    expect(holds({ DateLessThanEquals: { 'aws:CurrentTime': '2020-01-01T12:00:00Z' } }, ctx)).toBe(true);
    expect(holds({ DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T11:59:59Z' } }, ctx)).toBe(true);
    expect(holds({ DateGreaterThanEquals: { 'aws:CurrentTime': '2020-01-02' } }, ctx)).toBe(false);
  });

  test('W3C ISO 8601 forms: date only, offsets, fractions; digits alone are epoch seconds', () => {
    expect(parseDate('2020-01-01')).toBe(Date.UTC(2020, 0, 1));
    expect(parseDate('2020-01')).toBe(Date.UTC(2020, 0, 1));
    expect(parseDate('2020-01-01T01:00:00+01:00')).toBe(Date.UTC(2020, 0, 1));
    expect(parseDate('2020-01-01T00:00:00.250Z')).toBe(Date.UTC(2020, 0, 1) + 250);
    expect(parseDate('1577836800')).toBe(Date.UTC(2020, 0, 1));
    expect(parseDate('2020-13-01')).toBeNaN();
    expect(parseDate('yesterday')).toBeNaN();
  });

  test('an unparseable policy date is refused ("The policy failed legacy parsing" in IAM)', () => {
    expect(identityPolicyError({ DateLessThan: { 'aws:CurrentTime': '2020-02-30T25:00:00Z' } })).toBe('The policy failed legacy parsing');
    expect(bucketPolicyError({ DateLessThan: { 'aws:CurrentTime': 'soon' } })).toBe('Invalid policy syntax.');
  });
});

describe('Bool and BinaryEquals ("IAM JSON policy elements: Condition operators")', () => {
  test('the BooleanExample: deny S3 when aws:SecureTransport is false', () => {
    const statement = {
      Sid: 'BooleanExample',
      Action: 's3:*',
      Effect: 'Deny',
      Resource: ['arn:aws:s3:::DOC-EXAMPLE-BUCKET', 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/*'],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    };
    const policy = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [statement] }), 'identity');
    const over = (secure: string) => ({ ...request({ 'aws:securetransport': secure }), resource: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/k' });
    expect(policy.evaluate(over('false'))).toBe('Deny');
    expect(policy.evaluate(over('true'))).toBeUndefined();
  });

  test('BinaryEquals compares bytes of the base64 value', () => {
    const condition = { BinaryEquals: { 'aws:x-example': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' } };
    expect(holds(condition, { 'aws:x-example': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' })).toBe(true);
    expect(holds(condition, { 'aws:x-example': Buffer.from('BinaryValueInBase64').toString('base64') })).toBe(true);
    expect(holds(condition, { 'aws:x-example': Buffer.from('other').toString('base64') })).toBe(false);
    expect(holds(condition, {})).toBe(false);
    expect(identityPolicyError({ BinaryEquals: { 'aws:x-example': 'not base64!' } })).toBe('Syntax errors in policy.');
  });
});

describe('IP address operators ("IAM JSON policy elements: Condition operators")', () => {
  test('IpAddress 203.0.113.0/24: 203.0.113.0 to 203.0.113.255', () => {
    const condition = { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } };
    expect(holds(condition, { 'aws:sourceip': '203.0.113.0' })).toBe(true);
    expect(holds(condition, { 'aws:sourceip': '203.0.113.255' })).toBe(true);
    expect(holds(condition, { 'aws:sourceip': '203.0.114.0' })).toBe(false);
    // Missing (a VPC endpoint request): "the condition returns false".
    expect(holds(condition, {})).toBe(false);
  });

  test('IPv4 and IPv6 mixed: 203.0.113.0/24 and 2001:DB8:1234:5678::/64', () => {
    const condition = { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:DB8:1234:5678::/64'] } };
    expect(holds(condition, { 'aws:sourceip': '2001:db8:1234:5678::1' })).toBe(true);
    expect(holds(condition, { 'aws:sourceip': '2001:db8:1234:5678:ffff:ffff:ffff:ffff' })).toBe(true);
    expect(holds(condition, { 'aws:sourceip': '2001:db8:1234:5679::' })).toBe(false);
    expect(holds(condition, { 'aws:sourceip': '203.0.113.9' })).toBe(true);
  });

  test('an address without a prefix is /32; an IPv4-mapped IPv6 client is its IPv4 address', () => {
    const condition = { IpAddress: { 'aws:SourceIp': '192.0.2.7' } };
    expect(holds(condition, { 'aws:sourceip': '192.0.2.7' })).toBe(true);
    expect(holds(condition, { 'aws:sourceip': '192.0.2.8' })).toBe(false);
    expect(holds(condition, { 'aws:sourceip': '::ffff:192.0.2.7' })).toBe(true);
  });

  test('NotIpAddress', () => {
    const condition = { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:db8::/32'] } };
    expect(holds(condition, { 'aws:sourceip': '198.51.100.1' })).toBe(true);
    expect(holds(condition, { 'aws:sourceip': '192.0.2.1' })).toBe(false);
    expect(holds(condition, { 'aws:sourceip': '2001:db8:ffff::1' })).toBe(false);
    expect(holds(condition, {})).toBe(true);
  });

  test('CIDR parsing and containment, exactly', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ v6: false, words: [0x0a000000], prefix: 8 });
    expect(parseCidr('::/0')).toEqual({ v6: true, words: [0, 0, 0, 0], prefix: 0 });
    for (const bad of ['10.0.0.256', '10.0.0', '10.0.0.0/33', '1::2::3', '2001:db8::/129', 'x', '10.0.0.0/']) {
      expect(parseCidr(bad)).toBeUndefined();
    }
    const v6 = parseCidr('2001:db8::/127')!;
    expect(cidrContains(v6, parseAddress('2001:db8::1')!)).toBe(true);
    expect(cidrContains(v6, parseAddress('2001:db8::2')!)).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseAddress('255.255.255.255')!)).toBe(true);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseAddress('::1')!)).toBe(false);
    expect(parseAddress('fe80::1%eth0')).toEqual({ v6: true, words: [0xfe800000, 0, 0, 1] });
    expect(parseAddress('::ffff:10.1.2.3')).toEqual({ v6: false, words: [0x0a010203] });
  });

  test('a bucket policy refuses an aws:SourceIp that is no address ("Invalid IP address in Conditions")', () => {
    expect(bucketPolicyError({ IpAddress: { 'aws:SourceIp': '203.0.113.0/33' } })).toBe('Invalid IP address in Conditions');
    expect(bucketPolicyError({ StringLike: { 'aws:SourceIp': '10.*' } })).toBe('Invalid IP address in Conditions');
    expect(bucketPolicyError({ Null: { 'aws:SourceIp': 'false' } })).toBeUndefined();
  });
});

describe('ARN operators ("IAM JSON policy elements: Condition operators")', () => {
  const pattern = 'arn:aws:someservice:*:111122223333:finance/*';
  const value = 'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt';

  test('StringLike matches across colons where ArnLike, segment by segment, does not', () => {
    expect(holds({ StringLike: { 'aws:SourceArn': pattern } }, { 'aws:sourcearn': value })).toBe(true);
    expect(holds({ ArnLike: { 'aws:SourceArn': pattern } }, { 'aws:sourcearn': value })).toBe(false);
    expect(holds({ ArnLike: { 'aws:SourceArn': pattern } }, { 'aws:sourcearn': 'arn:aws:someservice:us-east-2:111122223333:finance/x' })).toBe(true);
  });

  test('ArnEquals aws:SourceArn of the SNS topic; ArnNotEquals and ArnNotLike', () => {
    const topic = 'arn:aws:sns:REGION:123456789012:TOPIC-ID';
    expect(holds({ ArnEquals: { 'aws:SourceArn': topic } }, { 'aws:sourcearn': topic })).toBe(true);
    expect(holds({ ArnEquals: { 'aws:SourceArn': topic } }, { 'aws:sourcearn': `${topic}2` })).toBe(false);
    expect(holds({ ArnNotEquals: { 'aws:SourceArn': topic } }, { 'aws:sourcearn': topic })).toBe(false);
    expect(holds({ ArnNotLike: { 'aws:SourceArn': 'arn:aws:sns:*:*:*' } }, { 'aws:sourcearn': 'arn:aws:sqs:r:1:q' })).toBe(true);
    expect(holds({ ArnEquals: { 'aws:SourceArn': topic } }, {})).toBe(false);
  });
});

describe('…IfExists ("IAM JSON policy elements: Condition operators")', () => {
  const types = ['t1.*', 't2.*', 'm3.*'];

  test('THISPOLICYDOESNOTWORK: StringLike fails where the key is absent', () => {
    expect(holds({ StringLike: { 'ec2:InstanceType': types } }, {})).toBe(false);
    expect(holds({ StringLike: { 'ec2:InstanceType': types } }, { 'ec2:instancetype': 't2.micro' })).toBe(true);
  });

  test('StringLikeIfExists: checked when present, true when absent', () => {
    const condition = { StringLikeIfExists: { 'ec2:InstanceType': types } };
    expect(holds(condition, {})).toBe(true);
    expect(holds(condition, { 'ec2:instancetype': 'm3.large' })).toBe(true);
    expect(holds(condition, { 'ec2:instancetype': 'c5.large' })).toBe(false);
  });

  test('a Deny with StringNotEqualsIfExists still denies when the key is missing', () => {
    const statement = { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { StringNotEqualsIfExists: { 'aws:PrincipalTag/team': 'storage' } } };
    const policy = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statement }), 'identity');
    expect(policy.evaluate(request({}))).toBe('Deny');
    expect(policy.evaluate(request({ 'aws:principaltag/team': 'storage' }))).toBeUndefined();
    expect(policy.evaluate(request({ 'aws:principaltag/team': 'web' }))).toBe('Deny');
  });

  test('IfExists on every other family', () => {
    expect(holds({ NumericLessThanIfExists: { 's3:max-keys': '10' } }, {})).toBe(true);
    expect(holds({ NumericLessThanIfExists: { 's3:max-keys': '10' } }, { 's3:max-keys': '50' })).toBe(false);
    expect(holds({ IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } }, {})).toBe(true);
    expect(holds({ BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, {})).toBe(true);
    expect(holds({ DateLessThanIfExists: { 'aws:TokenIssueTime': '2020-01-01' } }, {})).toBe(true);
    expect(holds({ ArnLikeIfExists: { 'aws:SourceArn': 'arn:aws:sns:*:*:*' } }, {})).toBe(true);
  });
});

describe('Null ("Condition operator to check existence of condition keys")', () => {
  test('"true": the key must be absent (no temporary credentials)', () => {
    const condition = { Null: { 'aws:TokenIssueTime': 'true' } };
    expect(holds(condition, {})).toBe(true);
    expect(holds(condition, { 'aws:tokenissuetime': '2020-01-01T00:00:00Z' })).toBe(false);
  });

  test('"false": the key must be present', () => {
    const condition = { Null: { 'aws:TokenIssueTime': 'false' } };
    expect(holds(condition, {})).toBe(false);
    expect(holds(condition, { 'aws:tokenissuetime': '2020-01-01T00:00:00Z' })).toBe(true);
    expect(holds(condition, { 'aws:tokenissuetime': [] })).toBe(false);
  });

  test('Null takes no IfExists, and only true or false', () => {
    expect(bucketPolicyError({ NullIfExists: { 'aws:TokenIssueTime': 'true' } })).toBe('Invalid Condition type : NullIfExists');
    expect(identityPolicyError({ Null: { 'aws:TokenIssueTime': 'maybe' } })).toBe('Syntax errors in policy.');
  });
});

describe('several keys and values ("Conditions with multiple context keys or values")', () => {
  const bucketPolicy = (arnOperator: string) =>
    parsePolicy(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{
          Sid: 'ExamplePolicy',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::222222222222:root' },
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::amzn-s3-demo-bucket',
          Condition: {
            StringEquals: { 'aws:PrincipalTag/department': ['finance', 'hr', 'legal'], 'aws:PrincipalTag/role': ['audit', 'security'] },
            [arnOperator]: { 'aws:PrincipalArn': ['arn:aws:iam::222222222222:user/Ana', 'arn:aws:iam::222222222222:user/Mary'] },
          },
        }],
      }),
      'resource',
      { bucket: 'amzn-s3-demo-bucket' },
    );
  const ask = (context: Context) => ({
    ...request(context),
    action: 's3:ListBucket',
    resource: 'arn:aws:s3:::amzn-s3-demo-bucket',
    principal: { anonymous: false, aws: ['arn:aws:iam::222222222222:root'], canonicalUser: [], federated: [] },
  });
  const user = (name: string) => `arn:aws:iam::222222222222:user/${name}`;

  test('operators AND, keys AND, values OR: the five rows of the ArnLike table', () => {
    const policy = bucketPolicy('ArnLike');
    const rows: [Context, 'Allow' | undefined][] = [
      [{ 'aws:principaltag/department': 'legal', 'aws:principaltag/role': 'audit', 'aws:principalarn': user('Mary') }, 'Allow'],
      [{ 'aws:principaltag/department': 'hr', 'aws:principaltag/role': 'audit', 'aws:principalarn': user('Nikki') }, undefined],
      [{ 'aws:principaltag/department': 'hr', 'aws:principaltag/role': 'payroll', 'aws:principalarn': user('Mary') }, undefined],
      [{ 'aws:principaltag/department': 'hr', 'aws:principalarn': user('Mary') }, undefined],
      [{ 'aws:principalarn': user('Mary') }, undefined],
    ];
    for (const [context, expected] of rows) expect(policy.evaluate(ask(context))).toBe(expected);
  });

  test('a negated operator with several values is a NOR: the five rows of the ArnNotLike table', () => {
    const policy = bucketPolicy('ArnNotLike');
    const rows: [Context, 'Allow' | undefined][] = [
      [{ 'aws:principaltag/department': 'legal', 'aws:principaltag/role': 'audit', 'aws:principalarn': user('Nikki') }, 'Allow'],
      [{ 'aws:principaltag/department': 'hr', 'aws:principaltag/role': 'audit', 'aws:principalarn': user('Mary') }, undefined],
      [{ 'aws:principaltag/department': 'hr', 'aws:principaltag/role': 'payroll', 'aws:principalarn': user('Nikki') }, undefined],
      [{ 'aws:principaltag/department': 'hr', 'aws:principalarn': user('Nikki') }, undefined],
      [{ 'aws:principalarn': user('Nikki') }, undefined],
    ];
    for (const [context, expected] of rows) expect(policy.evaluate(ask(context))).toBe(expected);
  });
});

describe('set operators ("Creating a Condition That Tests Multiple Key Values", "Multivalued context key examples")', () => {
  const attributes = { 'dynamodb:requestedAttributes': ['PostDateTime', 'Message', 'Tags'] };

  test('ForAllValues:StringLike: every requested attribute must be listed', () => {
    const condition = { 'ForAllValues:StringLike': attributes };
    expect(holds(condition, { 'dynamodb:requestedattributes': ['PostDateTime', 'Message'] })).toBe(true);
    expect(holds(condition, { 'dynamodb:requestedattributes': ['PostDateTime', 'UserName'] })).toBe(false);
    // "If the key values in the request resolve to an empty data set … ForAllValues returns true".
    expect(holds(condition, { 'dynamodb:requestedattributes': [] })).toBe(true);
    expect(holds(condition, {})).toBe(true);
  });

  test('ForAnyValue:StringLike: one listed attribute is enough; an empty set is false', () => {
    const condition = { 'ForAnyValue:StringLike': { 'dynamodb:requestedAttributes': ['ID', 'PostDateTime'] } };
    expect(holds(condition, { 'dynamodb:requestedattributes': ['UserName', 'Message', 'PostDateTime'] })).toBe(true);
    expect(holds(condition, { 'dynamodb:requestedattributes': ['UserName'] })).toBe(false);
    expect(holds(condition, {})).toBe(false);
  });

  const denies = (condition: unknown, tagKeys: string[] | undefined): boolean => {
    const statement = { Sid: 'DenyRestrictedTags', Effect: 'Deny', Action: ['s3:Put*'], Resource: ['*'], Condition: condition };
    const policy = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statement }), 'identity');
    return policy.evaluate({ ...request(tagKeys ? { 'aws:tagkeys': tagKeys } : {}), action: 's3:PutObject' }) === 'Deny';
  };

  test('ForAllValues:StringNotLike "key1*": the table, absent key included', () => {
    const condition = { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } };
    expect(denies(condition, ['key1:legal'])).toBe(false);
    expect(denies(condition, ['key1:hr', 'key1:personnel'])).toBe(false);
    expect(denies(condition, ['key2:audit'])).toBe(true);
    expect(denies(condition, undefined)).toBe(true);
  });

  test('ForAllValues:StringNotLike ["key1*", "key2*"]: the table', () => {
    const condition = { 'ForAllValues:StringNotLike': { 'aws:TagKeys': ['key1*', 'key2*'] } };
    expect(denies(condition, ['key1:legal'])).toBe(false);
    expect(denies(condition, ['key1:hr', 'key1:personnel'])).toBe(false);
    expect(denies(condition, ['key1:hr', 'key2:audit'])).toBe(false);
    expect(denies(condition, ['key3:legal'])).toBe(true);
    expect(denies(condition, undefined)).toBe(true);
  });

  test('ForAnyValue:StringEquals "webserver": the table', () => {
    const condition = { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'webserver' } };
    expect(denies(condition, ['webserver'])).toBe(true);
    expect(denies(condition, ['environment', 'webserver', 'test'])).toBe(true);
    expect(denies(condition, ['environment', 'test'])).toBe(false);
    expect(denies(condition, undefined)).toBe(false);
  });

  test('ForAnyValue with IfExists is still false on a missing key (IfExists applies per value)', () => {
    // AWS re:Post, "ForAnyValue:StringEqualsIfExists behaving unexpectedly": the call was refused.
    expect(holds({ 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': ['team'] } }, {})).toBe(false);
    expect(holds({ 'ForAllValues:StringEqualsIfExists': { 'aws:TagKeys': ['team'] } }, {})).toBe(true);
  });

  test('a negated operator under ForAnyValue: some request value matches none', () => {
    const condition = { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['DataClass', 'Owner'] } };
    expect(holds(condition, { 'aws:tagkeys': ['DataClass', 'Dept'] })).toBe(true);
    expect(holds(condition, { 'aws:tagkeys': ['DataClass', 'Owner'] })).toBe(false);
    expect(holds(condition, {})).toBe(false);
  });
});

describe('policy variables in conditions ("IAM policy elements: Variables and tags")', () => {
  test('${aws:username} in a StringLike value', () => {
    const condition = { StringLike: { 's3:prefix': ['${aws:username}/*'] } };
    expect(holds(condition, { 's3:prefix': 'alice/photos' }, { 'aws:username': 'alice' })).toBe(true);
    expect(holds(condition, { 's3:prefix': 'bob/photos' }, { 'aws:username': 'alice' })).toBe(false);
  });

  test('a substituted value is literal text, not a pattern', () => {
    const condition = { StringLike: { 's3:prefix': ['home/${aws:username}'] } };
    expect(holds(condition, { 's3:prefix': 'home/a*' }, { 'aws:username': 'a*' })).toBe(true);
    expect(holds(condition, { 's3:prefix': 'home/abc' }, { 'aws:username': 'a*' })).toBe(false);
  });

  test('${*}, ${?} and ${$} are the literal characters', () => {
    expect(holds({ StringLike: { 's3:prefix': 'a${*}b' } }, { 's3:prefix': 'a*b' })).toBe(true);
    expect(holds({ StringLike: { 's3:prefix': 'a${*}b' } }, { 's3:prefix': 'axxb' })).toBe(false);
    expect(holds({ StringLike: { 's3:prefix': 'what${?}' } }, { 's3:prefix': 'what?' })).toBe(true);
    expect(holds({ StringLike: { 's3:prefix': 'what${?}' } }, { 's3:prefix': 'whatx' })).toBe(false);
    expect(holds({ StringEquals: { 's3:prefix': 'cost${$}' } }, { 's3:prefix': 'cost$' })).toBe(true);
  });

  test('a default value for a variable the request lacks: ${aws:userid, \'anonymous\'}', () => {
    const condition = { StringEquals: { 's3:prefix': "${aws:userid, 'anonymous'}" } };
    expect(holds(condition, { 's3:prefix': 'anonymous' })).toBe(true);
    expect(holds(condition, { 's3:prefix': 'AIDA1' }, { 'aws:userid': 'AIDA1' })).toBe(true);
  });

  test('an unresolvable variable makes the statement invalid: it neither allows nor denies', () => {
    expect(holds({ StringNotEquals: { 's3:prefix': '${aws:username}' } }, { 's3:prefix': 'x' })).toBe(false);
    const deny = { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { StringNotEquals: { 's3:prefix': '${aws:username}' } } };
    const policy = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: deny }), 'identity');
    expect(policy.evaluate(request({ 's3:prefix': 'x' }))).toBeUndefined();
    expect(policy.evaluate(request({ 's3:prefix': 'x' }, { 'aws:username': 'alice' }))).toBe('Deny');
  });

  test('a single-valued context key can be a variable too', () => {
    const condition = { StringEquals: { 's3:prefix': '${aws:PrincipalTag/team}/' } };
    expect(holds(condition, { 's3:prefix': 'web/', 'aws:principaltag/team': 'web' })).toBe(true);
  });

  test('before version 2012-10-17 ${…} is literal text', () => {
    const condition = { StringEquals: { 's3:prefix': '${aws:username}' } };
    expect(holds(condition, { 's3:prefix': '${aws:username}' }, { 'aws:username': 'alice' }, '2008-10-17')).toBe(true);
    expect(holds(condition, { 's3:prefix': 'alice' }, { 'aws:username': 'alice' }, '2008-10-17')).toBe(false);
  });
});

describe('malformed Condition elements', () => {
  test('unknown operators, in S3\'s words; operator names are case-sensitive', () => {
    expect(bucketPolicyError({ NotARealOperator: { 's3:prefix': 'x' } })).toBe('Invalid Condition type : NotARealOperator');
    expect(bucketPolicyError({ stringequals: { 's3:prefix': 'x' } })).toBe('Invalid Condition type : stringequals');
    expect(bucketPolicyError({ 'ForSomeValues:StringEquals': { 's3:prefix': 'x' } })).toBe('Invalid Condition type : ForSomeValues:StringEquals');
    expect(identityPolicyError({ StringEqualz: { 's3:prefix': 'x' } })).toBe('Syntax errors in policy.');
  });

  test('a bucket policy names only AWS\'s aws: and s3: keys ("Policy has an invalid condition key")', () => {
    expect(bucketPolicyError({ StringEquals: { 's3:FakeKeyDoesNotExist': 'x' } })).toBe('Policy has an invalid condition key');
    expect(bucketPolicyError({ StringEquals: { 'aws:NoSuchKey': 'x' } })).toBe('Policy has an invalid condition key');
    expect(bucketPolicyError({ StringEquals: { 's3:ExistingObjectTag/': 'x' } })).toBe('Policy has an invalid condition key');
    expect(bucketPolicyError({ StringEquals: { prefix: 'x' } })).toBe('Policy has an invalid condition key');
    for (const key of ['s3:ExistingObjectTag/Env', 'S3:x-amz-acl', 'aws:PrincipalOrgID', 's3:signatureversion', 'ec2:SourceInstanceARN']) {
      expect(bucketPolicyError({ StringEquals: { [key]: 'x' } })).toBeUndefined();
    }
  });

  test('an identity policy\'s keys name a vendor', () => {
    expect(identityPolicyError({ StringEquals: { prefix: 'x' } })).toBe('Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.');
    expect(identityPolicyError({ StringEquals: { 'myservice:Anything': 'x' } })).toBeUndefined();
  });

  test('values are strings, numbers or booleans (or lists of them)', () => {
    expect(identityPolicyError({ StringEquals: { 's3:prefix': { nested: 'x' } } })).toBe('Syntax errors in policy.');
    expect(identityPolicyError({ StringEquals: { 's3:prefix': [null] } })).toBe('Syntax errors in policy.');
    expect(identityPolicyError({ StringEquals: 'x' })).toBe('Syntax errors in policy.');
    expect(identityPolicyError(['x'])).toBe('Syntax errors in policy.');
    expect(holds({ Bool: { 'aws:SecureTransport': true } }, { 'aws:securetransport': 'true' })).toBe(true);
  });
});
