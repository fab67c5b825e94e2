import { randomBytes, randomInt } from 'node:crypto';
import { badRequest } from './http';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `n` characters drawn uniformly from `alphabet` (randomInt rejects bias). */
function randomString(alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** S3's Owner/ID: 64 hex digits. */
export const newCanonicalId = (): string => randomBytes(32).toString('hex');
/** IAM's unique id of a user (what aws:userid holds): AIDA + 16 base32 characters. */
export const newUserId = (): string => `AIDA${randomString(BASE32, 16)}`;
/** An access key id as AWS shapes a long-lived one: AKIA + 16 base32 characters. */
export const newAccessKeyId = (): string => `AKIA${randomString(BASE32, 16)}`;
/** 40 characters, as AWS's; letters and digits only (about 238 bits), so a secret never
 * needs quoting in a shell or an ini file the way AWS's `/` and `+` sometimes do. */
export const newSecretKey = (): string => randomString(ALPHANUMERIC, 40);

/** IAM's user names: letters, digits and `+=,.@_-`, up to 64. */
const USER_NAME = /^[\w+=,.@-]{1,64}$/;
/** IAM's policy names: the same characters, up to 128. */
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;

export function checkUserName(name: unknown): string {
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw badRequest('ValidationError', 'a user name is 1 to 64 letters, digits or any of +=,.@_-');
  }
  return name;
}

export function checkPolicyName(name: string): string {
  if (!POLICY_NAME.test(name)) throw badRequest('ValidationError', 'a policy name is 1 to 128 letters, digits or any of +=,.@_-');
  return name;
}
