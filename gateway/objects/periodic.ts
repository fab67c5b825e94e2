import type { FastifyBaseLogger } from 'fastify';

/**
 * A background task run on a timer, one run at a time: a run asked for while one is in
 * progress shares it (so passes never overlap, and tests can trigger one), a failed run is
 * logged and the next tick tries again, and `stop` waits for the run in progress, so the
 * stores it uses can be closed next. GC, upload expiry, lifecycle and the key filter's rebuild run so.
 */
export abstract class Periodic<T> {
  private timer?: NodeJS.Timeout;
  private running?: Promise<T>;

  /** `task` names the task in the log line of a failed run. */
  constructor(
    private readonly task: string,
    protected readonly log?: FastifyBaseLogger,
  ) {}

  /** One run of the task. */
  protected abstract run(): Promise<T>;

  /** Runs every `intervalMs` from now on, and once at once when `immediately`. */
  start(intervalMs: number, immediately = false): void {
    if (immediately) this.runInBackground();
    this.timer = setInterval(() => this.runInBackground(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One run; concurrent callers share the run in progress. */
  runOnce(): Promise<T> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private runInBackground(): void {
    this.runOnce().catch((e: unknown) => this.log?.error({ err: e }, `${this.task} failed`));
  }
}
