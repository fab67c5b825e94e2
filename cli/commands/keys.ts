import type { Command } from 'commander';
import { adminPath } from '../client';
import { clientFor, emit, globals } from '../context';
import { keysTable, type KeyView } from './users';

export function registerKeyCommands(program: Command): void {
  const key = program
    .command('key')
    .description("manage users' access keys (what S3 clients sign with)")
    .addHelpText(
      'after',
      `
The secret key is shown once, by "rfs key create": the gateway keeps it sealed and never
returns it again. Lost it? Create another key and delete the old one.

Examples:
  rfs key create alice
  rfs key create alice --json | jq -r .secretKey
  rfs key list alice
  rfs key disable AKIAXXXXXXXXXXXXXXXX
  rfs key delete AKIAXXXXXXXXXXXXXXXX`,
    );

  key
    .command('create')
    .description('create an access key for a user and print its secret, this once')
    .argument('<user>', 'user name')
    .action(async (user: string, _opts, cmd: Command) => {
      const created = await clientFor(cmd).call<KeyView & { secretKey: string }>('POST', adminPath('users', user, 'keys'));
      emit(cmd, created, (k) => `access key: ${k.accessKeyId}\nsecret key: ${k.secretKey}\n`);
      if (!globals(cmd).json) process.stderr.write('The secret key is shown only now: store it safely; it cannot be shown again.\n');
    });

  key
    .command('list')
    .description("list a user's access keys (ids and status; secrets are never shown)")
    .argument('<user>', 'user name')
    .action(async (user: string, _opts, cmd: Command) => {
      const answer = await clientFor(cmd).get<{ keys: KeyView[] }>(adminPath('users', user, 'keys'));
      emit(cmd, answer, ({ keys }) => keysTable(keys));
    });

  for (const [verb, status, what] of [
    ['disable', 'Inactive', 'disable an access key: requests signed with it are refused'],
    ['enable', 'Active', 'enable a disabled access key again'],
  ] as const) {
    key
      .command(verb)
      .description(what)
      .argument('<access-key-id>', 'the key, AKIA…')
      .action(async (id: string, _opts, cmd: Command) => {
        const k = await clientFor(cmd).call<KeyView>('PATCH', adminPath('keys', id), { status });
        emit(cmd, k, (v) => `access key ${v.accessKeyId} of ${v.userName} is ${v.status}\n`);
      });
  }

  key
    .command('delete')
    .description('delete an access key for good')
    .argument('<access-key-id>', 'the key, AKIA…')
    .action(async (id: string, _opts, cmd: Command) => {
      const answer = await clientFor(cmd).call<{ accessKeyId: string }>('DELETE', adminPath('keys', id));
      emit(cmd, answer, (a) => `deleted access key ${a.accessKeyId}\n`);
    });
}
