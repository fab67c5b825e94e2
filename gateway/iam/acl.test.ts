import type { AclPermission, Grant } from '../../metadata/store';
import { S3Error } from '../protocol/errors';
import {
  ALL_USERS, AUTHENTICATED_USERS, EC2_BUNDLE_READER, LOG_DELIVERY, MAX_GRANTS, acceptedWithAclsDisabled, aclFromHeaders, aclPermits, aclXml,
  cannedAcl, grantedIds, grantsOnlyOwner, hasAclHeaders, isDefaultAcl, isPublicAcl, ownerFullControl, parseAclXml,
} from './acl';

const OWNER = 'a'.repeat(64);
const BUCKET_OWNER = 'b'.repeat(64);
const OTHER = 'c'.repeat(64);
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

const user = (id: string, permission: AclPermission): Grant => ({ grantee: { type: 'CanonicalUser', id }, permission });
const group = (uri: string, permission: AclPermission): Grant => ({ grantee: { type: 'Group', uri }, permission });

/** The S3 error a call throws, as code, message and fields. */
function errorOf(f: () => unknown): { code: string; message: string; fields: Record<string, string> } {
  try {
    f();
  } catch (e) {
    if (e instanceof S3Error) return { code: e.code, message: e.message, fields: e.fields };
    throw e;
  }
  throw new Error('expected an S3Error');
}

describe('cannedAcl: the grants S3 stores for each canned ACL', () => {
  const objectOwners = { owner: OWNER, bucketOwner: BUCKET_OWNER };
  test.each<[string, Grant[]]>([
    ['private', [user(OWNER, 'FULL_CONTROL')]],
    ['public-read', [user(OWNER, 'FULL_CONTROL'), group(ALL_USERS, 'READ')]],
    ['public-read-write', [user(OWNER, 'FULL_CONTROL'), group(ALL_USERS, 'READ'), group(ALL_USERS, 'WRITE')]],
    ['authenticated-read', [user(OWNER, 'FULL_CONTROL'), group(AUTHENTICATED_USERS, 'READ')]],
    ['aws-exec-read', [user(OWNER, 'FULL_CONTROL'), user(EC2_BUNDLE_READER, 'READ')]],
    ['bucket-owner-read', [user(OWNER, 'FULL_CONTROL'), user(BUCKET_OWNER, 'READ')]],
    ['bucket-owner-full-control', [user(OWNER, 'FULL_CONTROL'), user(BUCKET_OWNER, 'FULL_CONTROL')]],
  ])('object %s', (name, grants) => {
    expect(cannedAcl(name, objectOwners)).toEqual(grants);
  });

  test('the bucket-owner ACLs add nothing when the object owner owns the bucket', () => {
    for (const name of ['bucket-owner-read', 'bucket-owner-full-control']) {
      expect(cannedAcl(name, { owner: OWNER, bucketOwner: OWNER })).toEqual([user(OWNER, 'FULL_CONTROL')]);
    }
  });

  test('buckets: log-delivery-write grants the LogDelivery group WRITE and READ_ACP; the bucket-owner ACLs are accepted and ignored', () => {
    const owners = { owner: OWNER, bucketOwner: OWNER, resource: 'bucket' as const };
    expect(cannedAcl('log-delivery-write', owners)).toEqual([user(OWNER, 'FULL_CONTROL'), group(LOG_DELIVERY, 'WRITE'), group(LOG_DELIVERY, 'READ_ACP')]);
    expect(cannedAcl('bucket-owner-full-control', owners)).toEqual([user(OWNER, 'FULL_CONTROL')]);
    expect(cannedAcl('bucket-owner-read', owners)).toEqual([user(OWNER, 'FULL_CONTROL')]);
    expect(cannedAcl('public-read', owners)).toEqual([user(OWNER, 'FULL_CONTROL'), group(ALL_USERS, 'READ')]);
  });

  test('an unknown name, or log-delivery-write on an object, is InvalidArgument with an empty message', () => {
    for (const name of ['privat', 'PRIVATE', 'public', '', 'log-delivery-write']) {
      expect(errorOf(() => cannedAcl(name, objectOwners))).toEqual({
        code: 'InvalidArgument',
        message: '',
        fields: { ArgumentName: 'x-amz-acl', ArgumentValue: name },
      });
    }
  });

  test('each call returns a fresh list', () => {
    const a = cannedAcl('private', objectOwners);
    a.push(group(ALL_USERS, 'READ'));
    expect(cannedAcl('private', objectOwners)).toHaveLength(1);
  });
});

describe('aclFromHeaders', () => {
  const owners = { owner: OWNER, bucketOwner: BUCKET_OWNER };

  test('no ACL headers: undefined', () => {
    expect(aclFromHeaders({ 'content-type': 'text/plain' }, owners)).toBeUndefined();
    expect(hasAclHeaders({ 'content-type': 'text/plain' })).toBe(false);
  });

  test('x-amz-acl gives the canned grants', () => {
    expect(aclFromHeaders({ 'x-amz-acl': 'public-read' }, owners)).toEqual(cannedAcl('public-read', owners));
    expect(hasAclHeaders({ 'x-amz-acl': 'private' })).toBe(true);
  });

  test('both a canned ACL and grant headers is InvalidRequest', () => {
    expect(errorOf(() => aclFromHeaders({ 'x-amz-acl': 'private', 'x-amz-grant-read': `id="${OTHER}"` }, owners))).toMatchObject({
      code: 'InvalidRequest',
      message: 'Specifying both Canned ACLs and Header Grants is not allowed',
    });
  });

  test('grant headers give exactly their grants, the owner gets none implicitly', () => {
    expect(aclFromHeaders({ 'x-amz-grant-read': `id="${OTHER}"` }, owners)).toEqual([user(OTHER, 'READ')]);
    expect(hasAclHeaders({ 'x-amz-grant-write-acp': `id="${OTHER}"` })).toBe(true);
  });

  test('every header, several grantees each, listed read, write, read-acp, write-acp, full-control', () => {
    const grants = aclFromHeaders(
      {
        'x-amz-grant-full-control': `id="${OWNER}"`,
        'x-amz-grant-write-acp': `id="${OTHER}"`,
        'x-amz-grant-read-acp': `uri="${AUTHENTICATED_USERS}"`,
        'x-amz-grant-write': `uri="${LOG_DELIVERY}"`,
        'x-amz-grant-read': `uri="${ALL_USERS}", id="${OTHER}",id="${BUCKET_OWNER}"`,
      },
      owners,
    );
    expect(grants).toEqual([
      group(ALL_USERS, 'READ'),
      user(OTHER, 'READ'),
      user(BUCKET_OWNER, 'READ'),
      group(LOG_DELIVERY, 'WRITE'),
      group(AUTHENTICATED_USERS, 'READ_ACP'),
      user(OTHER, 'WRITE_ACP'),
      user(OWNER, 'FULL_CONTROL'),
    ]);
  });

  test('quotes are optional, white space around names and values is ignored, names have no case', () => {
    expect(aclFromHeaders({ 'x-amz-grant-read': ` id = ${OTHER} ,  URI="${ALL_USERS}"` }, owners)).toEqual([user(OTHER, 'READ'), group(ALL_USERS, 'READ')]);
    expect(aclFromHeaders({ 'x-amz-grant-read': `ID="${OTHER}"` }, owners)).toEqual([user(OTHER, 'READ')]);
  });

  test('a comma inside quotes does not separate; empty items are skipped; a repeated grant counts once', () => {
    expect(errorOf(() => aclFromHeaders({ 'x-amz-grant-read': `uri="${ALL_USERS},x"` }, owners))).toMatchObject({
      code: 'InvalidArgument',
      message: 'Invalid group uri',
      fields: { ArgumentName: 'uri', ArgumentValue: `${ALL_USERS},x` },
    });
    expect(aclFromHeaders({ 'x-amz-grant-read': `, id="${OTHER}",, id="${OTHER}",` }, owners)).toEqual([user(OTHER, 'READ')]);
  });

  test('a repeated header (Node gives an array) contributes every value', () => {
    expect(aclFromHeaders({ 'x-amz-grant-read': [`id="${OTHER}"`, `uri="${ALL_USERS}"`] }, owners)).toEqual([user(OTHER, 'READ'), group(ALL_USERS, 'READ')]);
  });

  test('an item that is not name=value, or an unknown name, is "Argument format not recognized" naming the header', () => {
    for (const value of [OTHER, `user="${OTHER}"`, 'id="a"b"', 'id']) {
      expect(errorOf(() => aclFromHeaders({ 'x-amz-grant-write': value }, owners))).toEqual({
        code: 'InvalidArgument',
        message: 'Argument format not recognized',
        fields: { ArgumentName: 'x-amz-grant-write', ArgumentValue: value },
      });
    }
  });

  test('an id that is no canonical id is "Invalid id"', () => {
    expect(errorOf(() => aclFromHeaders({ 'x-amz-grant-read': 'id="123456789012"' }, owners))).toEqual({
      code: 'InvalidArgument',
      message: 'Invalid id',
      fields: { ArgumentName: 'id', ArgumentValue: '123456789012' },
    });
  });

  test('an unknown group is "Invalid group uri"', () => {
    expect(errorOf(() => aclFromHeaders({ 'x-amz-grant-read': 'uri="http://acs.amazonaws.com/groups/global/Everyone"' }, owners))).toEqual({
      code: 'InvalidArgument',
      message: 'Invalid group uri',
      fields: { ArgumentName: 'uri', ArgumentValue: 'http://acs.amazonaws.com/groups/global/Everyone' },
    });
  });

  test('an e-mail grantee is UnresolvableGrantByEmailAddress (rfs users have none)', () => {
    for (const name of ['emailAddress', 'emailaddress']) {
      expect(errorOf(() => aclFromHeaders({ 'x-amz-grant-full-control': `${name}="someone@example.com"` }, owners))).toMatchObject({
        code: 'UnresolvableGrantByEmailAddress',
        fields: { EmailAddress: 'someone@example.com' },
      });
    }
  });

  test(`more than ${MAX_GRANTS} grants is MalformedACLError`, () => {
    const ids = Array.from({ length: MAX_GRANTS + 1 }, (_, i) => `id="${i.toString(16).padStart(64, '0')}"`).join(',');
    expect(errorOf(() => aclFromHeaders({ 'x-amz-grant-read': ids }, owners)).code).toBe('MalformedACLError');
  });
});

/** An AccessControlPolicy document as clients send it. */
function policyXml(owner: string | undefined, grants: string[], { ns = true, list = true } = {}): string {
  const ownerPart = owner === undefined ? '' : `<Owner><ID>${owner}</ID><DisplayName>someone</DisplayName></Owner>`;
  const listPart = list ? `<AccessControlList>${grants.join('')}</AccessControlList>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy${ns ? ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' : ''}>${ownerPart}${listPart}</AccessControlPolicy>`;
}
const canonicalGrant = (id: string, permission: string, prefix = 'xsi') =>
  `<Grant><Grantee xmlns:${prefix}="${XSI}" ${prefix}:type="CanonicalUser"><ID>${id}</ID><DisplayName>x</DisplayName></Grantee><Permission>${permission}</Permission></Grant>`;
const groupGrant = (uri: string, permission: string) =>
  `<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="Group"><URI>${uri}</URI></Grantee><Permission>${permission}</Permission></Grant>`;

describe('parseAclXml', () => {
  test('canonical users and groups, in document order, display names ignored', () => {
    const body = policyXml(OWNER, [canonicalGrant(OWNER, 'FULL_CONTROL'), groupGrant(ALL_USERS, 'READ'), canonicalGrant(OTHER, 'WRITE_ACP')]);
    expect(parseAclXml(body, OWNER)).toEqual([user(OWNER, 'FULL_CONTROL'), group(ALL_USERS, 'READ'), user(OTHER, 'WRITE_ACP')]);
  });

  test('without the S3 namespace, with any xsi prefix, with white space around values', () => {
    const body = policyXml(`\n  ${OWNER}  `, [canonicalGrant(OTHER, ' READ ', 'x'), groupGrant(` ${LOG_DELIVERY} `, 'WRITE')], { ns: false });
    expect(parseAclXml(body, OWNER)).toEqual([user(OTHER, 'READ'), group(LOG_DELIVERY, 'WRITE')]);
  });

  test('an empty list is an ACL that grants nothing (the owner keeps its ACP rights)', () => {
    expect(parseAclXml(policyXml(OWNER, []), OWNER)).toEqual([]);
    expect(parseAclXml(`<AccessControlPolicy><Owner><ID>${OWNER}</ID></Owner><AccessControlList/></AccessControlPolicy>`, OWNER)).toEqual([]);
  });

  test('a grant given twice counts once', () => {
    expect(parseAclXml(policyXml(OWNER, [groupGrant(ALL_USERS, 'READ'), groupGrant(ALL_USERS, 'READ')]), OWNER)).toEqual([group(ALL_USERS, 'READ')]);
  });

  test.each([
    ['not XML', 'this is not xml'],
    ['unclosed', `<AccessControlPolicy><Owner><ID>${OWNER}</ID></Owner>`],
    ['another root', `<Policy><Owner><ID>${OWNER}</ID></Owner><AccessControlList/></Policy>`],
    ['two roots', `${policyXml(OWNER, [])}<Extra/>`],
    ['no Owner', policyXml(undefined, [])],
    ['no Owner ID', `<AccessControlPolicy><Owner><DisplayName>x</DisplayName></Owner><AccessControlList/></AccessControlPolicy>`],
    ['no AccessControlList', policyXml(OWNER, [], { list: false })],
    ['something else in the list', policyXml(OWNER, ['<Other/>'])],
    ['unknown permission', policyXml(OWNER, [canonicalGrant(OTHER, 'ALL')])],
    ['no permission', policyXml(OWNER, [`<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="Group"><URI>${ALL_USERS}</URI></Grantee></Grant>`])],
    ['no grantee', policyXml(OWNER, ['<Grant><Permission>READ</Permission></Grant>'])],
    ['grantee without type', policyXml(OWNER, [`<Grant><Grantee><ID>${OTHER}</ID></Grantee><Permission>READ</Permission></Grant>`])],
    ['unknown grantee type', policyXml(OWNER, [`<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="Role"><ID>${OTHER}</ID></Grantee><Permission>READ</Permission></Grant>`])],
    ['canonical user without ID', policyXml(OWNER, [`<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="CanonicalUser"></Grantee><Permission>READ</Permission></Grant>`])],
    ['group without URI', policyXml(OWNER, [`<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="Group"><ID>${OTHER}</ID></Grantee><Permission>READ</Permission></Grant>`])],
  ])('%s: MalformedACLError', (_what, body) => {
    expect(errorOf(() => parseAclXml(body, OWNER))).toMatchObject({
      code: 'MalformedACLError',
      message: 'The XML you provided was not well-formed or did not validate against our published schema',
    });
  });

  test('another owner is AccessDenied: an ACL cannot change who owns the resource', () => {
    expect(errorOf(() => parseAclXml(policyXml(OTHER, []), OWNER)).code).toBe('AccessDenied');
  });

  test('an owner id that is no canonical id is "Invalid id" for CanonicalUser/ID', () => {
    expect(errorOf(() => parseAclXml(policyXml('123', []), OWNER))).toEqual({
      code: 'InvalidArgument',
      message: 'Invalid id',
      fields: { ArgumentName: 'CanonicalUser/ID', ArgumentValue: '123' },
    });
  });

  test('a grantee id that is no canonical id, or an unknown group', () => {
    expect(errorOf(() => parseAclXml(policyXml(OWNER, [canonicalGrant('nope', 'READ')]), OWNER))).toEqual({
      code: 'InvalidArgument',
      message: 'Invalid id',
      fields: { ArgumentName: 'CanonicalUser/ID', ArgumentValue: 'nope' },
    });
    expect(errorOf(() => parseAclXml(policyXml(OWNER, [groupGrant('http://example.com/group', 'READ')]), OWNER))).toEqual({
      code: 'InvalidArgument',
      message: 'Invalid group uri',
      fields: { ArgumentName: 'Group/URI', ArgumentValue: 'http://example.com/group' },
    });
  });

  test('an e-mail grantee is UnresolvableGrantByEmailAddress', () => {
    const email = `<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="AmazonCustomerByEmail"><EmailAddress>x@example.com</EmailAddress></Grantee><Permission>READ</Permission></Grant>`;
    expect(errorOf(() => parseAclXml(policyXml(OWNER, [email]), OWNER))).toMatchObject({ code: 'UnresolvableGrantByEmailAddress', fields: { EmailAddress: 'x@example.com' } });
  });

  test('entities are decoded', () => {
    expect(parseAclXml(policyXml(OWNER, [groupGrant(ALL_USERS.replace('/', '&#47;'), 'READ')]), OWNER)).toEqual([group(ALL_USERS, 'READ')]);
  });
});

describe('aclXml', () => {
  test('the document S3 answers: owner, then each grant with its xsi:type', () => {
    const xml = aclXml({ id: OWNER, displayName: 'alice' }, [user(OWNER, 'FULL_CONTROL'), group(ALL_USERS, 'READ')]);
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Owner><ID>${OWNER}</ID><DisplayName>alice</DisplayName></Owner>` +
        '<AccessControlList>' +
        `<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="CanonicalUser"><ID>${OWNER}</ID><DisplayName>alice</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>` +
        `<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="Group"><URI>${ALL_USERS}</URI></Grantee><Permission>READ</Permission></Grant>` +
        '</AccessControlList></AccessControlPolicy>',
    );
  });

  test('display names from the map; EC2 as za-team; an unknown id as itself; no grants is an empty list', () => {
    const xml = aclXml({ id: OWNER, displayName: 'alice' }, [user(OTHER, 'READ'), user(BUCKET_OWNER, 'READ'), user(EC2_BUNDLE_READER, 'READ')], new Map([[OTHER, 'carol']]));
    expect(xml).toContain(`<ID>${OTHER}</ID><DisplayName>carol</DisplayName>`);
    expect(xml).toContain(`<ID>${BUCKET_OWNER}</ID><DisplayName>${BUCKET_OWNER}</DisplayName>`);
    expect(xml).toContain(`<ID>${EC2_BUNDLE_READER}</ID><DisplayName>za-team</DisplayName>`);
    expect(aclXml({ id: OWNER, displayName: 'alice' }, [])).toContain('<AccessControlList></AccessControlList>');
  });

  test('round trip: what GetBucketAcl answers, PutBucketAcl accepts unchanged', () => {
    const grants = [user(OWNER, 'FULL_CONTROL'), group(AUTHENTICATED_USERS, 'READ'), user(OTHER, 'WRITE'), group(LOG_DELIVERY, 'READ_ACP'), user(OTHER, 'WRITE_ACP')];
    expect(parseAclXml(aclXml({ id: OWNER, displayName: 'a & <b>' }, grants), OWNER)).toEqual(grants);
  });
});

describe('aclPermits', () => {
  const anonymous = { authenticated: false };
  const signedOther = { canonicalId: OTHER, authenticated: true };
  const theOwner = { canonicalId: OWNER, authenticated: true };
  const PERMISSIONS: AclPermission[] = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'];

  test('no ACL: the owner may do everything, nobody else anything', () => {
    for (const p of PERMISSIONS) {
      expect(aclPermits(undefined, OWNER, theOwner, p)).toBe(true);
      expect(aclPermits(undefined, OWNER, signedOther, p)).toBe(false);
      expect(aclPermits(undefined, OWNER, anonymous, p)).toBe(false);
    }
  });

  test('FULL_CONTROL implies every permission; other permissions only themselves', () => {
    for (const p of PERMISSIONS) expect(aclPermits([user(OTHER, 'FULL_CONTROL')], OWNER, signedOther, p)).toBe(true);
    for (const granted of PERMISSIONS.filter((p) => p !== 'FULL_CONTROL')) {
      for (const asked of PERMISSIONS) {
        expect({ granted, asked, ok: aclPermits([user(OTHER, granted)], OWNER, signedOther, asked) }).toEqual({ granted, asked, ok: granted === asked });
      }
    }
  });

  test('AllUsers: anyone, anonymous included', () => {
    const grants = [group(ALL_USERS, 'READ')];
    expect(aclPermits(grants, OWNER, anonymous, 'READ')).toBe(true);
    expect(aclPermits(grants, OWNER, signedOther, 'READ')).toBe(true);
    expect(aclPermits(grants, OWNER, anonymous, 'WRITE')).toBe(false);
  });

  test('AuthenticatedUsers: any signed request, not anonymous ones', () => {
    const grants = [group(AUTHENTICATED_USERS, 'READ')];
    expect(aclPermits(grants, OWNER, anonymous, 'READ')).toBe(false);
    expect(aclPermits(grants, OWNER, signedOther, 'READ')).toBe(true);
  });

  test('LogDelivery grants nothing to callers', () => {
    expect(aclPermits([group(LOG_DELIVERY, 'WRITE')], OWNER, signedOther, 'WRITE')).toBe(false);
  });

  test('a grant to another account does not extend to an anonymous caller', () => {
    expect(aclPermits([user(OTHER, 'READ')], OWNER, anonymous, 'READ')).toBe(false);
    expect(aclPermits([user(OTHER, 'READ')], OWNER, { canonicalId: BUCKET_OWNER, authenticated: true }, 'READ')).toBe(false);
  });

  test('the owner keeps READ_ACP and WRITE_ACP even when its grants are revoked, nothing more', () => {
    expect(aclPermits([], OWNER, theOwner, 'READ_ACP')).toBe(true);
    expect(aclPermits([], OWNER, theOwner, 'WRITE_ACP')).toBe(true);
    expect(aclPermits([], OWNER, theOwner, 'READ')).toBe(false);
    expect(aclPermits([], OWNER, theOwner, 'WRITE')).toBe(false);
    expect(aclPermits([group(ALL_USERS, 'READ')], OWNER, signedOther, 'READ_ACP')).toBe(false);
  });
});

describe('ACL predicates', () => {
  test('isPublicAcl: grants to AllUsers or AuthenticatedUsers, any permission', () => {
    expect(isPublicAcl(undefined)).toBe(false);
    expect(isPublicAcl([])).toBe(false);
    expect(isPublicAcl(ownerFullControl(OWNER))).toBe(false);
    expect(isPublicAcl([user(OTHER, 'FULL_CONTROL'), group(LOG_DELIVERY, 'WRITE')])).toBe(false);
    expect(isPublicAcl([group(ALL_USERS, 'READ_ACP')])).toBe(true);
    expect(isPublicAcl([user(OWNER, 'FULL_CONTROL'), group(AUTHENTICATED_USERS, 'READ')])).toBe(true);
    for (const name of ['public-read', 'public-read-write', 'authenticated-read']) expect(isPublicAcl(cannedAcl(name, { owner: OWNER, bucketOwner: OWNER }))).toBe(true);
  });

  test('isDefaultAcl: exactly the owner with FULL_CONTROL', () => {
    expect(isDefaultAcl(ownerFullControl(OWNER), OWNER)).toBe(true);
    expect(isDefaultAcl(ownerFullControl(OWNER), OTHER)).toBe(false);
    expect(isDefaultAcl([], OWNER)).toBe(false);
    expect(isDefaultAcl([user(OWNER, 'READ')], OWNER)).toBe(false);
    expect(isDefaultAcl([user(OWNER, 'FULL_CONTROL'), user(OWNER, 'FULL_CONTROL')], OWNER)).toBe(false);
  });

  test('grantsOnlyOwner: nothing to anyone else (what disabling ACLs needs)', () => {
    expect(grantsOnlyOwner(undefined, OWNER)).toBe(true);
    expect(grantsOnlyOwner([], OWNER)).toBe(true);
    expect(grantsOnlyOwner(ownerFullControl(OWNER), OWNER)).toBe(true);
    expect(grantsOnlyOwner([user(OWNER, 'READ')], OWNER)).toBe(false);
    expect(grantsOnlyOwner(cannedAcl('public-read', { owner: OWNER, bucketOwner: OWNER }), OWNER)).toBe(false);
    expect(grantsOnlyOwner([user(OTHER, 'FULL_CONTROL')], OWNER)).toBe(false);
  });

  test('acceptedWithAclsDisabled: bucket-owner-full-control, or FULL_CONTROL to the bucket owner alone', () => {
    const writer = { owner: OTHER, bucketOwner: BUCKET_OWNER };
    expect(acceptedWithAclsDisabled('bucket-owner-full-control', cannedAcl('bucket-owner-full-control', writer), BUCKET_OWNER)).toBe(true);
    // `private` written by the bucket owner changes nothing; by another account it would.
    expect(acceptedWithAclsDisabled('private', ownerFullControl(BUCKET_OWNER), BUCKET_OWNER)).toBe(true);
    expect(acceptedWithAclsDisabled('private', ownerFullControl(OTHER), BUCKET_OWNER)).toBe(false);
    expect(acceptedWithAclsDisabled(undefined, [user(BUCKET_OWNER, 'FULL_CONTROL')], BUCKET_OWNER)).toBe(true);
    expect(acceptedWithAclsDisabled(undefined, [], BUCKET_OWNER)).toBe(false);
    expect(acceptedWithAclsDisabled(undefined, [user(BUCKET_OWNER, 'READ')], BUCKET_OWNER)).toBe(false);
    expect(acceptedWithAclsDisabled('public-read', cannedAcl('public-read', { owner: BUCKET_OWNER, bucketOwner: BUCKET_OWNER }), BUCKET_OWNER)).toBe(false);
  });

  test('grantedIds: each canonical id once, groups left out', () => {
    expect(grantedIds([user(OWNER, 'FULL_CONTROL'), group(ALL_USERS, 'READ'), user(OTHER, 'READ'), user(OWNER, 'READ')])).toEqual([OWNER, OTHER]);
  });
});
