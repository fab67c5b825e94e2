/** Who may sign requests. Long-lived keys live in the metadata store; STS sessions
 * (Keycloak, a later issue) plug in behind the same lookup. */
export interface Credential {
  accessKeyId: string;
  secretKey: string;
  /** Canonical user id of the owner, as S3 returns it in Owner/ID. */
  owner: string;
  displayName: string;
}

export interface Identity {
  /** The credential for an access key id, or undefined when it does not exist. */
  credential(accessKeyId: string): Promise<Credential | undefined>;
}

/** A fixed set of credentials, for tests and for the root key before the store is open. */
export class StaticIdentity implements Identity {
  private readonly byId: Map<string, Credential>;
  constructor(credentials: Credential[]) {
    this.byId = new Map(credentials.map((c) => [c.accessKeyId, c]));
  }
  async credential(accessKeyId: string): Promise<Credential | undefined> {
    return this.byId.get(accessKeyId);
  }
}
