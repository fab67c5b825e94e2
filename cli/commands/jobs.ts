import type { Command } from 'commander';
import { adminPath } from '../client';
import { clientFor, emit, globals } from '../context';
import { UsageError } from '../errors';
import { shortTime, table } from '../format';
import { progressSummary, waitForJob, type JobStarted, type JobView } from '../job-wait';

function state(job: JobView): string {
  if (job.running) return 'running';
  return typeof job.progress.finished === 'string' ? 'finished' : 'stopped';
}

export function registerJobCommands(program: Command): void {
  const job = program
    .command('job')
    .description('see and start the background jobs: gc, repair, rebalance, lifecycle, scrub')
    .addHelpText(
      'after',
      `
Jobs run in one place at a time across the cluster (a lease in the metadata database):
  gc         deletes chunks no object references any more (after a grace period)
  repair     copies chunks that lack a replica back to R copies (storage nodes only)
  rebalance  walks every node and moves chunks to where placement puts them (storage nodes only)
  lifecycle  runs every bucket's lifecycle rules (expiry, noncurrent versions, stale uploads)
  scrub      each storage node re-reads its own disk on its own schedule; shown in the list,
             not started from here
"rfs job start" returns at once; with --wait it shows the run's progress on stderr (a live
line on a terminal, a line per change otherwise) until it ends.

Examples:
  rfs job list
  rfs job start gc --wait
  rfs job start rebalance`,
    );

  job
    .command('list')
    .description('list every job with its state and last progress')
    .action(async (_opts, cmd: Command) => {
      const answer = await clientFor(cmd).get<{ jobs: JobView[] }>('jobs');
      emit(cmd, answer, ({ jobs }) =>
        jobs.length === 0
          ? 'no job has run yet\n'
          : table(
              ['name', 'state', 'started', 'finished', 'progress'],
              jobs.map((j) => [j.name, state(j), shortTime(j.started), shortTime(j.progress.finished as string | undefined), progressSummary(j.progress)]),
            ),
      );
    });

  job
    .command('start')
    .description('start a job now (gc, repair, rebalance or lifecycle)')
    .argument('<name>', 'gc, repair, rebalance or lifecycle')
    .option('-w, --wait', 'wait until the run ends, showing its progress on stderr')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long (the job goes on)')
    .action(async (name: string, opts: { wait?: boolean; timeout?: string }, cmd: Command) => {
      const timeoutMs = opts.timeout === undefined ? undefined : Number(opts.timeout) * 1000;
      if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new UsageError('--timeout takes a number of seconds above 0');
      const client = clientFor(cmd);
      const started = await client.call<JobStarted>('POST', adminPath('jobs', name));
      if (!opts.wait) {
        emit(cmd, started, (s) => `${s.job} started; follow it with: rfs job list\n`);
        return;
      }
      const finished = await waitForJob(client, started, { timeoutMs });
      if (globals(cmd).json) emit(cmd, finished, () => '');
      else process.stdout.write(`${started.job} finished: ${progressSummary(finished.progress) || 'nothing to do'}\n`);
    });
}
