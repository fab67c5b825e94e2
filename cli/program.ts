import { Command, CommanderError } from 'commander';
import { registerConfigCommand } from './commands/config';
import { registerUserCommands } from './commands/users';
import { registerKeyCommands } from './commands/keys';
import { registerPolicyCommands } from './commands/policies';
import { registerBucketCommands } from './commands/buckets';
import { registerNodeCommands } from './commands/nodes';
import { registerJobCommands } from './commands/jobs';
import { EXIT, ServerError, UnreachableError, UsageError } from './errors';

const VERSION = '0.1.0';

/** The `rfs` command line: every command, its options, its manual. */
export function buildProgram(): Command {
  const program = new Command('rfs')
    .description('administer an rfs object store: users, access keys, policies, buckets, storage nodes and jobs')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--profile <name>', 'use this profile of ~/.config/rfs/config.json (default: RFS_PROFILE, else "default")')
    .option('--endpoint <url>', 'the gateway, e.g. http://127.0.0.1:9000 (default: the profile\'s, or RFS_ENDPOINT)')
    .option('--token <token>', 'sign in with this OpenID Connect (Keycloak) access token instead of an access key (or RFS_TOKEN)')
    .option('--json', 'print the server\'s answer as JSON on stdout, for scripts')
    // Usage errors are ours to turn into exit code 2 (commander would exit 1).
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText(
      'after',
      `
Getting started (the root key and secret are printed when rfs starts):
  rfs config --endpoint http://127.0.0.1:9000 --access-key <root key> --secret-key <root secret>
  rfs user create alice --policy readwrite
  rfs key create alice
  rfs bucket quota set photos 10GiB

Every command has its own manual: rfs <command> --help, rfs <command> <subcommand> --help.

Exit codes:
  0  done
  1  the server refused (printed as "rfs: <code>: <message>")
  2  usage error (a command, argument or option is wrong)
  3  the server cannot be reached, or did not accept the credentials`,
    );
  registerConfigCommand(program);
  registerUserCommands(program);
  registerKeyCommands(program);
  registerPolicyCommands(program);
  registerBucketCommands(program);
  registerNodeCommands(program);
  registerJobCommands(program);
  return program;
}

/** Runs the CLI on `argv` (process.argv's shape) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with code 0; a missing subcommand shows help, a usage error.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof ServerError) {
      process.stderr.write(`rfs: ${e.code}: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof UsageError || e instanceof UnreachableError) {
      process.stderr.write(`rfs: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`rfs: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.refused;
  }
}
