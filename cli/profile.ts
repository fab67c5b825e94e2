import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnreachableError, UsageError } from './errors';

/** What the CLI needs to reach and sign for a gateway. */
export interface Profile {
  endpoint?: string;
  accessKey?: string;
  secretKey?: string;
  region?: string;
}

interface ConfigFile {
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = 'default';
export const DEFAULT_REGION = 'us-east-1';

/** ~/.config/rfs/config.json: it holds secret keys, so it is the user's alone (0600). */
export function configPath(): string {
  return path.join(os.homedir(), '.config', 'rfs', 'config.json');
}

export function readConfig(file = configPath()): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw e;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ConfigFile>;
    return { profiles: parsed.profiles ?? {} };
  } catch {
    throw new UsageError(`${file} is not valid JSON; fix it or remove it and run \`rfs config\` again`);
  }
}

/** Replaces one profile, keeping the others; written to a 0600 temp file, then renamed. */
export function saveProfile(name: string, profile: Profile, file = configPath()): void {
  const config = readConfig(file);
  config.profiles[name] = profile;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600); // the mode above is masked by the umask
  renameSync(temp, file);
}

/** The profile in use: the file's, then RFS_ENDPOINT, RFS_ACCESS_KEY, RFS_SECRET_KEY and
 * RFS_REGION over it, then --endpoint over those. */
export function resolveProfile(name: string, env: NodeJS.ProcessEnv, endpoint?: string): Profile {
  const saved = readConfig().profiles[name] ?? {};
  return {
    endpoint: endpoint ?? env.RFS_ENDPOINT ?? saved.endpoint,
    accessKey: env.RFS_ACCESS_KEY ?? saved.accessKey,
    secretKey: env.RFS_SECRET_KEY ?? saved.secretKey,
    region: env.RFS_REGION ?? saved.region ?? DEFAULT_REGION,
  };
}

/** Refuses to go on without somewhere to connect to. */
export function requireEndpoint(profile: Profile, name: string): string {
  if (!profile.endpoint) {
    throw new UnreachableError(`no endpoint for profile "${name}": run \`rfs config --endpoint http://127.0.0.1:9000 --access-key … --secret-key …\` or set RFS_ENDPOINT`);
  }
  return profile.endpoint.replace(/\/+$/, '');
}

/** A secret as `rfs config` shows it: enough to recognise, not to use. */
export function maskSecret(secret: string | undefined): string | undefined {
  if (!secret) return undefined;
  return `****${secret.slice(-4)}`;
}
