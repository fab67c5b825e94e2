import { type SqlClient, inTransaction } from './sql';
import {
  type IamStore,
  type KeyStatus,
  type NamedPolicy,
  type NewUser,
  type StoredKey,
  type User,
  type UserPatch,
  IamError,
} from './store';

/**
 * Users, their access keys and named policies, in SQL that CockroachDB and PostgreSQL both
 * run (natural keys, ON CONFLICT, JSONB containment). Keys live in `access_keys`: rows from
 * before users existed have no user_name, and this store never returns them, so they never
 * authenticate. Changes that must see a consistent picture (a user deleted while a key is
 * added, a policy deleted while attached) run in SERIALIZABLE transactions with retry.
 */
export class SqlIamStore implements IamStore {
  constructor(private readonly db: SqlClient) {}

  async createUser(user: NewUser): Promise<void> {
    // No conflict target: a taken name and a taken canonical id are both refusals.
    const rows = await this.db.query(
      `INSERT INTO users (name, id, user_id, source, policies) VALUES ($1, $2, $3, $4, $5::JSONB)
       ON CONFLICT DO NOTHING RETURNING name`,
      [user.name, user.id, user.userId, user.source, JSON.stringify(user.policies)],
    );
    if (rows.length === 0) throw new IamError('EntityAlreadyExists', `a user named ${user.name} or with its id already exists`);
  }

  async getUser(name: string): Promise<User | undefined> {
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE name = $1`, [name]);
    return rows[0] && toUser(rows[0]);
  }

  async getUserById(id: string): Promise<User | undefined> {
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] && toUser(rows[0]);
  }

  async listUsers(): Promise<User[]> {
    return (await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY name`)).map(toUser);
  }

  /** One statement whatever the patch holds (a field left undefined keeps its value), so it
   * is prepared once. Policy names are not checked here: the caller validates them. */
  async updateUser(name: string, patch: UserPatch): Promise<void> {
    const rows = await this.db.query(
      `UPDATE users SET disabled = COALESCE($2::BOOL, disabled),
         sessions_valid_after = COALESCE($3::TIMESTAMPTZ, sessions_valid_after),
         policies = COALESCE($4::JSONB, policies)
       WHERE name = $1 RETURNING name`,
      [name, patch.disabled ?? null, patch.sessionsValidAfter ?? null, patch.policies ? JSON.stringify(patch.policies) : null],
    );
    if (rows.length === 0) throw noSuchUser(name);
  }

  /** Buckets are owned by canonical id: a user that still owns one cannot go, or the bucket
   * would be left to an id nobody holds. Its keys go in the same transaction. */
  async deleteUser(name: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const [user] = await tx.query<{ id: string }>('SELECT id FROM users WHERE name = $1 FOR UPDATE', [name]);
      if (!user) throw noSuchUser(name);
      const owned = await tx.query('SELECT name FROM buckets WHERE owner = $1 LIMIT 1', [user.id]);
      if (owned.length > 0) throw new IamError('DeleteConflict', `user ${name} still owns buckets; delete them first`);
      await tx.query('DELETE FROM access_keys WHERE user_name = $1', [name]);
      await tx.query('DELETE FROM users WHERE name = $1', [name]);
    });
  }

  /** The user row is locked first, so a key is never added to a user being deleted (which
   * would leave it to the next user of that name). owner and display_name, columns from
   * before users, are filled from the user. */
  async createKey(key: StoredKey): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const [user] = await tx.query<{ id: string }>('SELECT id FROM users WHERE name = $1 FOR UPDATE', [key.userName]);
      if (!user) throw noSuchUser(key.userName);
      const rows = await tx.query(
        `INSERT INTO access_keys (access_key_id, secret_key, owner, display_name, user_name, status, created_at)
         VALUES ($1, $2, $3, $4, $4, $5, $6::TIMESTAMPTZ) ON CONFLICT (access_key_id) DO NOTHING RETURNING access_key_id`,
        [key.accessKeyId, key.sealedSecret, user.id, key.userName, key.status, key.createdAt],
      );
      if (rows.length === 0) throw new IamError('EntityAlreadyExists', `access key ${key.accessKeyId} already exists`);
    });
  }

  async getKey(accessKeyId: string): Promise<StoredKey | undefined> {
    const rows = await this.db.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM access_keys WHERE access_key_id = $1 AND user_name IS NOT NULL`,
      [accessKeyId],
    );
    return rows[0] && toKey(rows[0]);
  }

  async listKeys(userName: string): Promise<StoredKey[]> {
    const rows = await this.db.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM access_keys WHERE user_name = $1 ORDER BY created_at, access_key_id`,
      [userName],
    );
    return rows.map(toKey);
  }

  async setKeyStatus(accessKeyId: string, status: KeyStatus): Promise<void> {
    const rows = await this.db.query(
      'UPDATE access_keys SET status = $2 WHERE access_key_id = $1 AND user_name IS NOT NULL RETURNING access_key_id',
      [accessKeyId, status],
    );
    if (rows.length === 0) throw new IamError('NoSuchEntity', `no access key ${accessKeyId}`);
  }

  async deleteKey(accessKeyId: string): Promise<void> {
    await this.db.query('DELETE FROM access_keys WHERE access_key_id = $1', [accessKeyId]);
  }

  async putPolicy(name: string, document: string): Promise<void> {
    await this.db.query(
      `INSERT INTO iam_policies (name, document) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET document = excluded.document, updated_at = now()`,
      [name, document],
    );
  }

  async getPolicy(name: string): Promise<NamedPolicy | undefined> {
    const rows = await this.db.query<PolicyRow>('SELECT name, document, updated_at FROM iam_policies WHERE name = $1', [name]);
    return rows[0] && toPolicy(rows[0]);
  }

  async listPolicies(): Promise<NamedPolicy[]> {
    return (await this.db.query<PolicyRow>('SELECT name, document, updated_at FROM iam_policies ORDER BY name')).map(toPolicy);
  }

  /** Users are few: finding the ones a policy is attached to is a scan, by JSONB containment. */
  async deletePolicy(name: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const found = await tx.query('SELECT name FROM iam_policies WHERE name = $1 FOR UPDATE', [name]);
      if (found.length === 0) throw new IamError('NoSuchEntity', `no policy ${name}`);
      const users = await tx.query('SELECT name FROM users WHERE policies @> $1::JSONB LIMIT 1', [JSON.stringify([name])]);
      if (users.length > 0) throw new IamError('DeleteConflict', `policy ${name} is attached to a user; detach it first`);
      await tx.query('DELETE FROM iam_policies WHERE name = $1', [name]);
    });
  }

  /** The first writer's value stays: of gateways starting at once, all compare with it. */
  async keyCheck(sealed: string): Promise<string> {
    await this.db.query(`INSERT INTO iam_key_check (id, sealed) VALUES ('master', $1) ON CONFLICT (id) DO NOTHING`, [sealed]);
    const [row] = await this.db.query<{ sealed: string }>(`SELECT sealed FROM iam_key_check WHERE id = 'master'`);
    return row.sealed;
  }
}

const USER_COLUMNS = 'name, id, user_id, source, disabled, policies, sessions_valid_after, created_at';
const KEY_COLUMNS = 'access_key_id, user_name, secret_key, status, created_at';

interface UserRow {
  name: string;
  id: string;
  user_id: string;
  source: User['source'];
  disabled: boolean;
  policies: string[];
  sessions_valid_after: Date;
  created_at: Date;
}

interface KeyRow {
  access_key_id: string;
  user_name: string;
  secret_key: string;
  status: KeyStatus;
  created_at: Date;
}

interface PolicyRow {
  name: string;
  document: string;
  updated_at: Date;
}

function noSuchUser(name: string): IamError {
  return new IamError('NoSuchEntity', `no user ${name}`);
}

function toUser(r: UserRow): User {
  return {
    name: r.name,
    id: r.id,
    userId: r.user_id,
    source: r.source,
    policies: r.policies,
    disabled: r.disabled,
    sessionsValidAfter: new Date(r.sessions_valid_after),
    createdAt: new Date(r.created_at),
  };
}

function toKey(r: KeyRow): StoredKey {
  return { accessKeyId: r.access_key_id, userName: r.user_name, sealedSecret: r.secret_key, status: r.status, createdAt: new Date(r.created_at) };
}

function toPolicy(r: PolicyRow): NamedPolicy {
  return { name: r.name, document: r.document, updatedAt: new Date(r.updated_at) };
}
