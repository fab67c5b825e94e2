import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { adminPath } from '../client';
import { clientFor, emit } from '../context';
import { UsageError } from '../errors';
import { shortTime, table } from '../format';

interface PolicyView {
  name: string;
  builtin: boolean;
  updatedAt: string;
}

async function readDocument(source: string): Promise<string> {
  if (source === '-') {
    const parts: Buffer[] = [];
    for await (const chunk of process.stdin) parts.push(chunk as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }
  try {
    return await readFile(source, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('manage named policies: IAM policy documents that users (and Keycloak roles) get')
    .addHelpText(
      'after',
      `
A policy is an IAM identity policy: JSON with Version and Statement (Effect, Action,
Resource, Condition), checked as AWS checks one. Built in: readwrite (s3:*), readonly
(s3:Get*, s3:List*) and admin (s3:*, rfs:*, sts:*); they can be edited, not deleted.

Examples:
  rfs policy list
  rfs policy get readonly > mine.json
  rfs policy put photos-read mine.json
  echo '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}' \\
    | rfs policy put photos-read -
  rfs user attach alice photos-read`,
    );

  policy
    .command('list')
    .description('list the named policies')
    .action(async (_opts, cmd: Command) => {
      const answer = await clientFor(cmd).get<{ policies: PolicyView[] }>('policies');
      emit(cmd, answer, ({ policies }) => table(['name', 'built in', 'updated'], policies.map((p) => [p.name, p.builtin ? 'yes' : 'no', shortTime(p.updatedAt)])));
    });

  policy
    .command('put')
    .description('create or replace a policy from a JSON document')
    .argument('<name>', 'policy name: 1 to 128 letters, digits or any of +=,.@_-')
    .argument('<file>', 'the policy document, or - to read it from stdin')
    .action(async (name: string, file: string, _opts, cmd: Command) => {
      const document = await readDocument(file);
      const answer = await clientFor(cmd).call<PolicyView>('PUT', adminPath('policies', name), document);
      emit(cmd, answer, (p) => `saved policy ${p.name}\n`);
    });

  policy
    .command('get')
    .description('print a policy document (as JSON, ready for rfs policy put)')
    .argument('<name>', 'policy name')
    .action(async (name: string, _opts, cmd: Command) => {
      const answer = await clientFor(cmd).get<PolicyView & { document: unknown }>(adminPath('policies', name));
      emit(cmd, answer, (p) => (typeof p.document === 'string' ? `${p.document}\n` : `${JSON.stringify(p.document, null, 2)}\n`));
    });

  policy
    .command('delete')
    .description('delete a policy (refused while a user has it attached)')
    .argument('<name>', 'policy name')
    .action(async (name: string, _opts, cmd: Command) => {
      const answer = await clientFor(cmd).call<{ name: string }>('DELETE', adminPath('policies', name));
      emit(cmd, answer, (a) => `deleted policy ${a.name}\n`);
    });
}
