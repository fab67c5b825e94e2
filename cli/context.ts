import type { Command } from 'commander';
import { AdminClient, type Auth } from './client';
import { UnreachableError } from './errors';
import { DEFAULT_PROFILE, requireEndpoint, resolveProfile } from './profile';

/** The options every command takes (declared on the program, usable after any command). */
export interface GlobalOptions {
  profile?: string;
  endpoint?: string;
  token?: string;
  json?: boolean;
}

export const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();

export const profileName = (cmd: Command): string => globals(cmd).profile ?? process.env.RFS_PROFILE ?? DEFAULT_PROFILE;

/** A client for the profile in use: a bearer token (--token or RFS_TOKEN) wins over keys. */
export function clientFor(cmd: Command): AdminClient {
  const opts = globals(cmd);
  const name = profileName(cmd);
  const profile = resolveProfile(name, process.env, opts.endpoint);
  const endpoint = requireEndpoint(profile, name);
  const token = opts.token ?? process.env.RFS_TOKEN;
  let auth: Auth;
  if (token) auth = { kind: 'bearer', token };
  else if (profile.accessKey && profile.secretKey) auth = { kind: 'sigv4', accessKey: profile.accessKey, secretKey: profile.secretKey, region: profile.region! };
  else throw new UnreachableError(`no credentials for profile "${name}": run \`rfs config --access-key … --secret-key …\`, set RFS_ACCESS_KEY and RFS_SECRET_KEY, or pass --token`);
  return new AdminClient(endpoint, auth);
}

/** With --json, the server's answer as JSON on stdout (for scripts); else `human` of it. */
export function emit<T>(cmd: Command, data: T, human: (data: T) => string): void {
  process.stdout.write(globals(cmd).json ? `${JSON.stringify(data, null, 2)}\n` : human(data));
}
