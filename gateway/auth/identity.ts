/** Who may sign requests. Long-lived keys live in the metadata store; STS sessions
 * (Keycloak, a later issue) plug in behind the same lookup. */
export interface Credential {
  accessKeyId: string;
  secretKey: string;
  /** Canonical user id of the owner, as S3 returns it in Owner/ID. */
  owner: string;
  displayName: string;
  /** The rfs user the credential acts as (gateway/iam); absent for root, who may do anything. */
  user?: string;
  /** STS credentials: what the session may do, and until when. */
  session?: Session;
}

/** What an STS session token carries (sealed, so the token itself is the session record). */
export interface Session {
  kind: 'web-identity' | 'assume-role';
  /** Named policies that bound the session (a web identity's mapped roles, or the role's). */
  policies: string[];
  /** The inline `Policy` of the STS call: it can only narrow. */
  inlinePolicy?: string;
  roleArn: string;
  sessionName: string;
  /** The OIDC subject of a web-identity session. */
  subject?: string;
  issuedAt: number;
  expiresAt: number;
}

export interface Identity {
  /**
   * The credential for an access key id, or undefined when it does not exist. STS keys need
   * their session token (x-amz-security-token): a missing one is S3Error InvalidAccessKeyId
   * (as S3 answers), a forged or mismatched one InvalidToken, an expired one ExpiredToken.
   */
  credential(accessKeyId: string, sessionToken?: string): Promise<Credential | undefined>;
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
