import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { globals, profileName } from '../context';
import { UsageError } from '../errors';
import { fields } from '../format';
import { configPath, DEFAULT_REGION, maskSecret, readConfig, saveProfile, type Profile } from '../profile';

interface ConfigOptions {
  accessKey?: string;
  secretKey?: string;
  region?: string;
  show?: boolean;
}

function checkEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`invalid endpoint "${endpoint}": give a URL like http://127.0.0.1:9000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`invalid endpoint "${endpoint}": it must start with http:// or https://`);
  return endpoint.replace(/\/+$/, '');
}

/** Asks for each value on a terminal, the saved one as the default; the secret is not echoed. */
async function prompt(saved: Profile): Promise<Profile> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const ask = async (question: string, current?: string, secret = false) => {
    const shown = secret ? maskSecret(current) : current;
    process.stdout.write(`${question}${shown ? ` [${shown}]` : ''}: `);
    muted = secret;
    const answer = (await rl.question('')).trim();
    if (secret) process.stdout.write('\n');
    muted = false;
    return answer || current;
  };
  try {
    return {
      endpoint: await ask('endpoint', saved.endpoint ?? 'http://127.0.0.1:9000'),
      accessKey: await ask('access key', saved.accessKey),
      secretKey: await ask('secret key', saved.secretKey, true),
      region: await ask('region', saved.region ?? DEFAULT_REGION),
    };
  } finally {
    rl.close();
  }
}

function show(name: string, profile: Profile | undefined): string {
  if (!profile) return `no profile "${name}" in ${configPath()}: run rfs config --endpoint … --access-key … --secret-key …\n`;
  return fields([
    ['profile', name],
    ['file', configPath()],
    ['endpoint', profile.endpoint],
    ['access key', profile.accessKey],
    ['secret key', maskSecret(profile.secretKey)],
    ['region', profile.region ?? DEFAULT_REGION],
  ]);
}

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('save the endpoint and admin credentials the other commands use (a profile)')
    .option('--access-key <id>', 'access key id of an admin (the root key printed at start, or a key of a user with the admin policy)')
    .option('--secret-key <secret>', 'its secret key')
    .option('--region <region>', `region to sign for (default ${DEFAULT_REGION})`)
    .option('--show', 'print the profile (the secret masked) instead of changing it')
    .addHelpText(
      'after',
      `
The profile goes to ~/.config/rfs/config.json (mode 0600; --profile <name> picks one of
several). Values not given keep what the profile had. With no option on a terminal, rfs asks
for each value. RFS_ENDPOINT, RFS_ACCESS_KEY, RFS_SECRET_KEY, RFS_REGION and RFS_PROFILE in
the environment override the file; --token (or RFS_TOKEN) signs in with a Keycloak token
instead of a key.

Examples:
  rfs config --endpoint http://127.0.0.1:9000 --access-key AKIA… --secret-key …
  rfs config --profile prod --endpoint https://s3.example.com --region eu-west-1
  rfs config --show`,
    )
    .action(async (opts: ConfigOptions, cmd: Command) => {
      const name = profileName(cmd);
      const saved = readConfig().profiles[name];
      const endpoint = globals(cmd).endpoint;
      const given = endpoint !== undefined || opts.accessKey !== undefined || opts.secretKey !== undefined || opts.region !== undefined;
      if (opts.show || (!given && !process.stdin.isTTY)) {
        process.stdout.write(show(name, saved));
        return;
      }
      const next: Profile = given
        ? {
            endpoint: endpoint ?? saved?.endpoint,
            accessKey: opts.accessKey ?? saved?.accessKey,
            secretKey: opts.secretKey ?? saved?.secretKey,
            region: opts.region ?? saved?.region ?? DEFAULT_REGION,
          }
        : await prompt(saved ?? {});
      if (next.endpoint) next.endpoint = checkEndpoint(next.endpoint);
      saveProfile(name, next);
      process.stdout.write(`saved profile "${name}" to ${configPath()}\n`);
    });
}
