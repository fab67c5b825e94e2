import { SingleBar } from 'cli-progress';
import type { AdminClient } from './client';
import { ServerError } from './errors';
import { humanBytes } from './format';

export interface JobView {
  name: string;
  holder: string;
  started: string;
  expires: string;
  running: boolean;
  progress: Record<string, unknown>;
}

/** What POST /jobs/:name answers: `since` is the gateway's clock when it started the run. */
export interface JobStarted {
  job: string;
  lease: string;
  started: boolean;
  since: string;
}

/** "phase=queue copied=3 copiedBytes=1.5 MiB": a job's progress on one line. */
export function progressSummary(progress: Record<string, unknown>): string {
  return Object.entries(progress)
    .filter(([k]) => k !== 'finished')
    .map(([k, v]) => `${k}=${typeof v === 'number' && /bytes$/i.test(k) ? humanBytes(v) : String(v)}`)
    .join(' ');
}

/** How the wait shows progress: a live bar on a terminal, a line per change otherwise. */
interface Display {
  update(job: JobView): void;
  stop(): void;
}

/** A bar when the job reports `done` of `total`; otherwise the elapsed time and counters. */
function terminalDisplay(name: string): Display {
  let bar: SingleBar | undefined;
  return {
    update(job) {
      const total = typeof job.progress.total === 'number' ? job.progress.total : undefined;
      const done = typeof job.progress.done === 'number' ? job.progress.done : 0;
      if (!bar) {
        bar = new SingleBar({
          stream: process.stderr,
          format: total ? `${name} |{bar}| {percentage}% {duration_formatted} {summary}` : `${name} {duration_formatted} {summary}`,
          hideCursor: true,
          clearOnComplete: false,
        });
        bar.start(total ?? 1, done, { summary: '' });
      }
      bar.update(total ? done : 0, { summary: progressSummary(job.progress) });
    },
    stop() {
      bar?.stop();
    },
  };
}

function lineDisplay(name: string): Display {
  let last = '';
  return {
    update(job) {
      const line = `${name}: ${job.progress.finished ? 'finished' : 'running'} ${progressSummary(job.progress)}`.trimEnd();
      if (line !== last) process.stderr.write(`${line}\n`);
      last = line;
    },
    stop() {},
  };
}

/** A run that has not shown up in the lease table by then is not coming. */
const START_GRACE_MS = 30_000;

/**
 * Polls GET /jobs until the job's lease row says a run finished at or after `since`, showing
 * progress on stderr meanwhile. Returns the finished row.
 */
export async function waitForJob(client: AdminClient, started: JobStarted, opts: { intervalMs?: number; timeoutMs?: number } = {}): Promise<JobView> {
  const display = process.stderr.isTTY ? terminalDisplay(started.job) : lineDisplay(started.job);
  const since = Date.parse(started.since);
  const begun = Date.now();
  let seenRunning = false;
  try {
    for (;;) {
      const { jobs } = await client.get<{ jobs: JobView[] }>('jobs');
      const row = jobs.find((j) => j.name === started.lease);
      const finished = typeof row?.progress.finished === 'string' ? Date.parse(row.progress.finished) : NaN;
      if (row && finished >= since) {
        display.update(row);
        return row;
      }
      if (row?.running) {
        seenRunning = true;
        display.update(row);
      }
      const waited = Date.now() - begun;
      if (!seenRunning && waited > START_GRACE_MS) throw new ServerError(500, 'JobNotStarted', `${started.job} did not start within ${START_GRACE_MS / 1000} s: see the gateway log`);
      if (opts.timeoutMs !== undefined && waited > opts.timeoutMs) throw new ServerError(500, 'Timeout', `${started.job} still running after ${opts.timeoutMs / 1000} s (it goes on: rfs job list)`);
      await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 500));
    }
  } finally {
    display.stop();
  }
}
