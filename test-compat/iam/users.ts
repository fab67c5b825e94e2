import { randomBytes, createHash } from 'node:crypto';
import type { TestServer } from '../harness';

export interface TestUser {
  name: string;
  /** Canonical user id (S3's Owner/ID). */
  id: string;
  accessKeyId: string;
  secretKey: string;
}

const base32 = (bytes: Buffer) => [...bytes].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b & 31]).join('');

/**
 * A user with one access key and the named policies given (each created from its document),
 * written through the server's own metadata store and master key, as the admin API does.
 */
export async function createUser(server: TestServer, name: string, policies: Record<string, unknown> = {}): Promise<TestUser> {
  const { meta, box, iam } = server.rfs!.services;
  for (const [policy, document] of Object.entries(policies)) await meta.iam.putPolicy(policy, JSON.stringify(document));
  const id = createHash('sha256').update(`test-user:${name}:${randomBytes(8).toString('hex')}`).digest('hex');
  await meta.iam.createUser({ name, id, userId: `AIDA${base32(randomBytes(16))}`, source: 'local', policies: Object.keys(policies) });
  const accessKeyId = `AKIA${base32(randomBytes(16))}`;
  const secretKey = randomBytes(30).toString('base64');
  await meta.iam.createKey({ accessKeyId, userName: name, sealedSecret: box.seal(secretKey, `access-key:${accessKeyId}`), status: 'Active', createdAt: new Date() });
  await iam.iamChanged();
  return { name, id, accessKeyId, secretKey };
}

/** Replaces a user's policies (each created or replaced from its document). */
export async function setPolicies(server: TestServer, user: string, policies: Record<string, unknown>): Promise<void> {
  const { meta, iam } = server.rfs!.services;
  for (const [policy, document] of Object.entries(policies)) await meta.iam.putPolicy(policy, JSON.stringify(document));
  await meta.iam.updateUser(user, { policies: Object.keys(policies) });
  await iam.iamChanged();
}
