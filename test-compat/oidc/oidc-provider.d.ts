/**
 * The few parts of oidc-provider (ESM-only, ships no types) that the Keycloak look-alike
 * fixture uses. `@types/oidc-provider` would be a second dev dependency for one test file.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface KoaContextWithOIDC {
    oidc: {
      params: Record<string, string | undefined>;
      client: { clientId: string };
    };
    body: unknown;
  }

  export interface AccessTokenLike {
    accountId?: string;
    clientId?: string;
    resourceServer?: unknown;
    expiration: number;
    save(): Promise<string>;
  }

  export interface IdTokenLike {
    scope: string;
    issue(options: { use: 'idtoken' }): Promise<string>;
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    registerGrantType(name: string, handler: (ctx: KoaContextWithOIDC) => Promise<void>, params?: string[]): void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    readonly AccessToken: new (fields: Record<string, unknown>) => AccessTokenLike;
    readonly IdToken: new (claims: Record<string, unknown>, options: { ctx: KoaContextWithOIDC }) => IdTokenLike;
    readonly ResourceServer: new (identifier: string, info: Record<string, unknown>) => unknown;
  }

  export const errors: {
    InvalidGrant: new (description?: string) => Error;
  };

  export default Provider;
}
