import { randomBytes } from 'node:crypto';
import { SecretBox } from '../iam/secret-box';
import { S3Error } from '../protocol/errors';
import { issueSession, newSessionKeys, openSession, type SessionRecord } from './session-token';

// A master key given directly: the data dir is never touched.
const box = SecretBox.load({ masterKey: randomBytes(32).toString('hex'), dataDir: '/nonexistent' });
const otherBox = SecretBox.load({ masterKey: randomBytes(32).toString('hex'), dataDir: '/nonexistent' });
const NOW = Date.UTC(2026, 0, 1);

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    kind: 'web-identity',
    policies: ['readwrite'],
    inlinePolicy: '{"Version":"2012-10-17","Statement":[]}',
    roleArn: 'arn:aws:iam:::role/readwrite',
    sessionName: 'alice-laptop',
    subject: 'f1d1d1d1-0000-4000-8000-000000000001',
    issuedAt: NOW,
    expiresAt: NOW + 3600_000,
    ...newSessionKeys(),
    user: 'kc.example.com/realms/rfs/f1d1d1d1-0000-4000-8000-000000000001',
    owner: 'a'.repeat(64),
    displayName: 'kc.example.com/realms/rfs/f1d1d1d1-0000-4000-8000-000000000001',
    ...overrides,
  };
}

/** The S3 error code a call throws. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof S3Error) return e.code;
    throw e;
  }
  throw new Error('did not throw');
}

test('SessionKeys_format: ASIA + 16 base32 characters, a 40-character secret, never repeated', () => {
  const keys = Array.from({ length: 200 }, newSessionKeys);
  for (const { accessKeyId, secretKey } of keys) {
    expect(accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(secretKey).toHaveLength(40);
  }
  expect(new Set(keys.map((k) => k.accessKeyId)).size).toBe(200);
  expect(new Set(keys.map((k) => k.secretKey)).size).toBe(200);
});

test('SessionToken_roundTrip: the token is the session record, sealed (nothing readable in it)', () => {
  const issued = record();
  const token = issueSession(box, issued);
  expect(token).not.toContain(issued.secretKey);
  expect(token).not.toContain('readwrite');
  expect(openSession(box, token, issued.accessKeyId, NOW + 1000)).toEqual(issued);
});

test('SessionToken_tampered: any changed character makes it InvalidToken', () => {
  const issued = record();
  const token = issueSession(box, issued);
  // (Not the last character: some of its bits may be base64 padding.)
  for (const at of [3, Math.floor(token.length / 2), token.length - 2]) {
    const flipped = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
    expect(codeOf(() => openSession(box, flipped, issued.accessKeyId, NOW))).toBe('InvalidToken');
  }
  expect(codeOf(() => openSession(box, 'not a token', issued.accessKeyId, NOW))).toBe('InvalidToken');
  expect(codeOf(() => openSession(box, '', issued.accessKeyId, NOW))).toBe('InvalidToken');
});

test("SessionToken_otherAccessKey: a token presented with another session's access key id is InvalidToken", () => {
  const mine = record();
  const theirs = record();
  const token = issueSession(box, mine);
  expect(codeOf(() => openSession(box, token, theirs.accessKeyId, NOW))).toBe('InvalidToken');
});

test('SessionToken_otherMasterKey: a token sealed by another deployment is InvalidToken', () => {
  const issued = record();
  expect(codeOf(() => openSession(otherBox, issueSession(box, issued), issued.accessKeyId, NOW))).toBe('InvalidToken');
});

test('SessionToken_expired: ExpiredToken from expiresAt on, valid until then', () => {
  const issued = record();
  const token = issueSession(box, issued);
  expect(openSession(box, token, issued.accessKeyId, issued.expiresAt - 1).accessKeyId).toBe(issued.accessKeyId);
  expect(codeOf(() => openSession(box, token, issued.accessKeyId, issued.expiresAt))).toBe('ExpiredToken');
});

test('SessionToken_notARecord: a value sealed in the same context that is not a session record is InvalidToken', () => {
  const { accessKeyId } = newSessionKeys();
  const context = `sts-session:${accessKeyId}`;
  for (const plaintext of ['null', '"text"', '{', JSON.stringify({ ...record({ accessKeyId }), policies: 'readwrite' })]) {
    expect(codeOf(() => openSession(box, box.seal(plaintext, context), accessKeyId, NOW))).toBe('InvalidToken');
  }
  // A record naming another key id, sealed in this key's context, is refused too.
  const moved = box.seal(JSON.stringify(record()), context);
  expect(codeOf(() => openSession(box, moved, accessKeyId, NOW))).toBe('InvalidToken');
});
