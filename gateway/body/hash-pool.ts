import { Worker } from 'node:worker_threads';
import { workerEntry } from '../../metadata/worker-file';
import type { HashMessage, HashName, HashReply } from './hash-worker';

/** Bytes copied into one message to a hash worker: large enough that the per-message cost is
 * noise, small enough that a session holds little. */
const BATCH_BYTES = 1024 * 1024;
/** Bytes a session may have in flight before `drained()` makes the upload wait. */
const MAX_BACKLOG = 4 * BATCH_BYTES;

/** Hash worker threads shared by all uploads; each upload is a session on one of them. */
export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly sessions = new Map<number, HashSession>();
  private nextId = 1;
  private next = 0;

  constructor(size: number) {
    const entry = workerEntry(__dirname, 'hash-worker');
    for (let i = 0; i < size; i++) {
      const worker = new Worker(entry.file, { execArgv: entry.execArgv });
      worker.on('message', (reply: HashReply) => this.sessions.get(reply.id)?.receive(reply));
      worker.on('error', (e) => {
        for (const s of this.sessions.values()) s.fail(e);
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  session(hashes: HashName[]): HashSession {
    const id = this.nextId++;
    const worker = this.workers[this.next++ % this.workers.length];
    const session = new HashSession(id, (m, transfer) => worker.postMessage(m, transfer), () => this.sessions.delete(id));
    this.sessions.set(id, session);
    worker.postMessage({ op: 'start', id, hashes } satisfies HashMessage);
    return session;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** One body's hashes, computed on a worker. `update` copies into a batch (the caller may reuse
 * its buffers); `drained` is the backpressure; `digests` ends the session. */
export class HashSession {
  private batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private readonly spare: Buffer[] = [];
  private filled = 0;
  private backlog = 0;
  private waiters: (() => void)[] = [];
  private result?: { resolve(d: Partial<Record<HashName, Buffer>>): void; reject(e: unknown): void };
  private error: unknown;

  constructor(
    private readonly id: number,
    private readonly post: (m: HashMessage, transfer?: ArrayBuffer[]) => void,
    private readonly done: () => void,
  ) {}

  update(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      const n = data.copy(this.batch, this.filled, at);
      this.filled += n;
      at += n;
      if (this.filled === BATCH_BYTES) this.flush();
    }
  }

  /** Resolves once the worker is at most MAX_BACKLOG bytes behind. */
  drained(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (this.backlog <= MAX_BACKLOG) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  digests(): Promise<Partial<Record<HashName, Buffer>>> {
    if (this.error) return Promise.reject(this.error);
    this.flush();
    return new Promise((resolve, reject) => {
      this.result = { resolve, reject };
      this.post({ op: 'end', id: this.id });
    });
  }

  abort(): void {
    this.post({ op: 'abort', id: this.id });
    this.done();
  }

  receive(reply: HashReply): void {
    if (reply.op === 'ack') {
      this.backlog -= reply.data.byteLength;
      this.spare.push(Buffer.from(reply.data.buffer, 0, BATCH_BYTES));
      if (this.backlog <= MAX_BACKLOG) for (const w of this.waiters.splice(0)) w();
      return;
    }
    this.done();
    const out: Partial<Record<HashName, Buffer>> = {};
    for (const [name, d] of Object.entries(reply.digests)) out[name as HashName] = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    this.result?.resolve(out);
  }

  fail(e: unknown): void {
    this.error = e;
    this.result?.reject(e);
    for (const w of this.waiters.splice(0)) w();
  }

  private flush(): void {
    if (this.filled === 0) return;
    const full = this.batch.buffer;
    const data = new Uint8Array(full, 0, this.filled);
    this.backlog += this.filled;
    this.post({ op: 'data', id: this.id, data }, [full as ArrayBuffer]);
    this.batch = this.spare.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.filled = 0;
  }
}
