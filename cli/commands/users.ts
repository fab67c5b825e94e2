import type { Command } from 'commander';
import { adminPath } from '../client';
import { clientFor, emit } from '../context';
import { fields, shortTime, table } from '../format';

export interface UserView {
  name: string;
  id: string;
  userId: string;
  source: 'local' | 'oidc';
  disabled: boolean;
  policies: string[];
  createdAt: string;
  sessionsValidAfter: string;
}

export interface KeyView {
  accessKeyId: string;
  userName: string;
  status: 'Active' | 'Inactive';
  createdAt: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export const keysTable = (keys: KeyView[]): string =>
  keys.length === 0 ? 'no access keys\n' : table(['access key', 'status', 'created'], keys.map((k) => [k.accessKeyId, k.status, shortTime(k.createdAt)]));

function userFields(u: UserView): string {
  return fields([
    ['name', u.name],
    ['source', u.source],
    ['disabled', u.disabled ? 'yes' : 'no'],
    ['policies', u.policies.join(', ') || 'none'],
    ['canonical id', u.id],
    ['user id', u.userId],
    ['created', shortTime(u.createdAt)],
    ['sessions valid after', shortTime(u.sessionsValidAfter)],
  ]);
}

export function registerUserCommands(program: Command): void {
  const user = program
    .command('user')
    .description('manage users: accounts that own buckets, sign with access keys and get policies')
    .addHelpText(
      'after',
      `
Every user is an S3 account of its own: it owns the buckets it creates and may do anything
with them; attached policies grant more (or, with Deny, less). Users that sign in through
Keycloak (source "oidc") are made on their first sign-in.

Examples:
  rfs user create alice --policy readwrite
  rfs user list
  rfs user info alice
  rfs user attach alice readonly
  rfs user disable alice       # her keys and sessions stop working at once
  rfs user revoke alice        # sessions issued so far stop working; keys do not`,
    );

  user
    .command('list')
    .description('list every user')
    .action(async (_opts, cmd: Command) => {
      const answer = await clientFor(cmd).get<{ users: UserView[] }>('users');
      emit(cmd, answer, ({ users }) =>
        users.length === 0
          ? 'no users yet: rfs user create <name>\n'
          : table(['name', 'source', 'disabled', 'policies', 'created'], users.map((u) => [u.name, u.source, u.disabled ? 'yes' : 'no', u.policies.join(','), shortTime(u.createdAt)])),
      );
    });

  user
    .command('create')
    .description('create a local user (then give it a key: rfs key create <name>)')
    .argument('<name>', 'user name: 1 to 64 letters, digits or any of +=,.@_-')
    .option('-p, --policy <policy>', 'attach this policy (repeat for more)', collect, [])
    .action(async (name: string, opts: { policy: string[] }, cmd: Command) => {
      const created = await clientFor(cmd).call<UserView>('POST', 'users', { name, policies: opts.policy });
      emit(cmd, created, (u) => `created user ${u.name}\n${userFields(u)}`);
    });

  user
    .command('info')
    .description("show a user, its policies and its access keys (never a secret)")
    .argument('<name>', 'user name')
    .action(async (name: string, _opts, cmd: Command) => {
      const u = await clientFor(cmd).get<UserView & { keys: KeyView[] }>(adminPath('users', name));
      emit(cmd, u, (v) => `${userFields(v)}\n${keysTable(v.keys)}`);
    });

  for (const [verb, disabled, what] of [
    ['disable', true, 'disable a user: its keys and sessions are refused at once, on every gateway'],
    ['enable', false, 'enable a disabled user again'],
  ] as const) {
    user
      .command(verb)
      .description(what)
      .argument('<name>', 'user name')
      .action(async (name: string, _opts, cmd: Command) => {
        const u = await clientFor(cmd).call<UserView>('PATCH', adminPath('users', name), { disabled });
        emit(cmd, u, (v) => `user ${v.name} ${v.disabled ? 'disabled' : 'enabled'}\n`);
      });
  }

  user
    .command('delete')
    .description('delete a user and its access keys (refused while it owns a bucket)')
    .argument('<name>', 'user name')
    .action(async (name: string, _opts, cmd: Command) => {
      const answer = await clientFor(cmd).call<{ name: string }>('DELETE', adminPath('users', name));
      emit(cmd, answer, (a) => `deleted user ${a.name}\n`);
    });

  user
    .command('revoke')
    .description('revoke the STS sessions issued to a user so far (its access keys keep working)')
    .argument('<name>', 'user name')
    .action(async (name: string, _opts, cmd: Command) => {
      const u = await clientFor(cmd).call<UserView>('POST', adminPath('users', name, 'revoke-sessions'));
      emit(cmd, u, (v) => `sessions of ${v.name} issued before ${shortTime(v.sessionsValidAfter)} are revoked\n`);
    });

  for (const [verb, what] of [
    ['attach', 'attach a named policy to a user'],
    ['detach', 'detach a named policy from a user'],
  ] as const) {
    user
      .command(verb)
      .description(what)
      .argument('<user>', 'user name')
      .argument('<policy>', 'policy name (rfs policy list)')
      .action(async (name: string, policy: string, _opts, cmd: Command) => {
        const client = clientFor(cmd);
        const current = await client.get<UserView>(adminPath('users', name));
        const policies = verb === 'attach' ? [...new Set([...current.policies, policy])] : current.policies.filter((p) => p !== policy);
        const u = await client.call<UserView>('PATCH', adminPath('users', name), { policies });
        emit(cmd, u, (v) => `${v.name}'s policies: ${v.policies.join(', ') || 'none'}\n`);
      });
  }
}
