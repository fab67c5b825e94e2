import { randomBytes } from 'node:crypto';
import type { Session } from '../auth/identity';
import type { SecretBox } from '../iam/secret-box';
import { S3Error } from '../protocol/errors';

/**
 * Everything a request signed with STS credentials needs, sealed into the session token
 * itself: issuing a session writes nothing to the database, and every gateway that holds
 * the master key can check one.
 */
export interface SessionRecord extends Session {
  accessKeyId: string;
  secretKey: string;
  /** The rfs user the session acts as. */
  user: string;
  /** That user's canonical id, S3's Owner/ID. */
  owner: string;
  displayName: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** AWS's prefix for temporary access key ids (long-lived ones start with AKIA). */
export const SESSION_KEY_PREFIX = 'ASIA';

/** A fresh key pair for a session: `ASIA` + 16 base32 characters, and a 40-character secret. */
export function newSessionKeys(): { accessKeyId: string; secretKey: string } {
  // 256 is a multiple of 32, so masking a random byte picks each letter uniformly.
  const id = [...randomBytes(16)].map((b) => BASE32[b & 31]).join('');
  return { accessKeyId: SESSION_KEY_PREFIX + id, secretKey: randomBytes(30).toString('base64') };
}

/** The seal's context binds the token to its access key id: presented with another key, it does not open. */
const sealContext = (accessKeyId: string) => `sts-session:${accessKeyId}`;

export function issueSession(box: SecretBox, record: SessionRecord): string {
  return box.seal(JSON.stringify(record), sealContext(record.accessKeyId));
}

/**
 * The session a token holds, for the access key id the request was signed with. S3Error
 * InvalidToken when the token is forged, damaged or another key's; ExpiredToken once it
 * has expired.
 */
export function openSession(box: SecretBox, token: string, accessKeyId: string, now: number = Date.now()): SessionRecord {
  let record: unknown;
  try {
    record = JSON.parse(box.unseal(token, sealContext(accessKeyId)));
  } catch {
    throw new S3Error('InvalidToken');
  }
  if (!isSessionRecord(record) || record.accessKeyId !== accessKeyId) throw new S3Error('InvalidToken');
  if (now >= record.expiresAt) throw new S3Error('ExpiredToken');
  return record;
}

/** Only this module seals records, so the check is against our own older or newer shapes. */
function isSessionRecord(value: unknown): value is SessionRecord {
  const r = value as Partial<SessionRecord> | null;
  return (
    typeof r === 'object' && r !== null &&
    (r.kind === 'web-identity' || r.kind === 'assume-role') &&
    Array.isArray(r.policies) && r.policies.every((p) => typeof p === 'string') &&
    (r.inlinePolicy === undefined || typeof r.inlinePolicy === 'string') &&
    [r.accessKeyId, r.secretKey, r.user, r.owner, r.displayName, r.roleArn, r.sessionName].every((s) => typeof s === 'string') &&
    typeof r.issuedAt === 'number' && typeof r.expiresAt === 'number'
  );
}
