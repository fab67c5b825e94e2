import { S3Error } from '../protocol/errors';
import type { IamCache } from '../iam/iam-cache';
import type { StoredKey } from '../../metadata/store';
import type { SecretBox } from '../iam/secret-box';
import { openSession } from '../sts/session-token';
import type { Credential, Identity } from './identity';

/** STS access key ids start so (AWS's prefix for temporary credentials). */
const SESSION_KEY_PREFIX = 'ASIA';

/**
 * Who may sign: root (its key held in process), users' access keys (kept sealed in the
 * metadata store, cached in IamCache), and STS sessions, whose token is the sealed session
 * record itself. A disabled user's keys and sessions stop working, and so does every
 * session issued before the user's sessions were revoked.
 */
export class MetadataIdentity implements Identity {
  /** Secrets opened, by the cached key record they came from: one AES-GCM open per key per
   * cache lifetime, not per request; gone with the record. */
  private readonly opened = new WeakMap<StoredKey, string>();

  constructor(private readonly iam: IamCache, private readonly box: SecretBox, private readonly root: Credential) {}

  async credential(accessKeyId: string, sessionToken?: string): Promise<Credential | undefined> {
    if (accessKeyId === this.root.accessKeyId) return this.root;
    if (accessKeyId.startsWith(SESSION_KEY_PREFIX)) return this.session(accessKeyId, sessionToken);
    const key = await this.iam.key(accessKeyId);
    if (!key || key.status !== 'Active') return undefined;
    const user = await this.iam.user(key.userName);
    if (!user || user.disabled) return undefined;
    let secretKey = this.opened.get(key);
    if (secretKey === undefined) this.opened.set(key, (secretKey = this.box.unseal(key.sealedSecret, `access-key:${accessKeyId}`)));
    return { accessKeyId, secretKey, owner: user.id, displayName: user.name, user: user.name };
  }

  private async session(accessKeyId: string, token: string | undefined): Promise<Credential> {
    if (token === undefined) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: accessKeyId }); // as S3 answers temporary keys sent without their token
    const record = openSession(this.box, token, accessKeyId);
    const user = await this.iam.user(record.user);
    if (!user || user.disabled || record.issuedAt < user.sessionsValidAfter.getTime()) {
      throw new S3Error('InvalidToken', 'The security token included in the request has been revoked.');
    }
    const { secretKey, owner, displayName, user: name, accessKeyId: _, ...session } = record;
    return { accessKeyId, secretKey, owner, displayName, user: name, session };
  }
}
