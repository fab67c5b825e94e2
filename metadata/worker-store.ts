import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  type AccessKey,
  type Bucket,
  type BucketPatch,
  type ChunkRef,
  type CompletedObject,
  type DeleteResult,
  type ListPage,
  type ListQuery,
  type MetadataStore,
  type NewObject,
  type NewPart,
  type NewUpload,
  type ObjectPart,
  type ObjectVersion,
  type Part,
  type Tags,
  type Upload,
  type UploadPage,
  type UploadQuery,
  type VersionPage,
  type VersionQuery,
  type WriteCondition,
  type WriteResult,
  MetadataError,
  type MetadataErrorCode,
} from './store';
import type { WorkerReply, WorkerRequest } from './worker';
import { workerEntry } from './worker-file';

/** MetadataStore whose SqlMetadataStore (on PGlite) runs in a worker thread. */
export class WorkerMetadataStore implements MetadataStore {
  private nextId = 1;
  /** Set once the worker is gone: every later call fails at once instead of waiting forever. */
  private dead?: Error;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiter.reject(revive(reply.error));
      else waiter.resolve(reply.result);
    });
    const failAll = (e: Error) => {
      this.dead ??= e;
      for (const w of this.pending.values()) w.reject(e);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`metadata worker exited (${code})`)));
  }

  /** Starts the worker and waits until the database is open and migrated. Creating a new
   * PGlite database (initdb) leaves ~700 MB resident in its process, which PGlite never gives
   * back, so a fresh database is created by a short-lived child process first. */
  static async open(dataDir: string): Promise<WorkerMetadataStore> {
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await createDatabase(dataDir);
    const entry = workerEntry(__dirname, 'worker');
    const worker = new Worker(entry.file, { workerData: { dataDir }, execArgv: entry.execArgv });
    const store = new WorkerMetadataStore(worker);
    await new Promise<void>((resolve, reject) => store.pending.set(0, { resolve: () => resolve(), reject }));
    return store;
  }

  private call<T>(method: keyof MetadataStore, args: unknown[]): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies WorkerRequest);
    });
  }

  createBucket(b: { name: string; owner: string; region: string }): Promise<void> { return this.call('createBucket', [b]); }
  getBucket(name: string): Promise<Bucket | undefined> { return this.call('getBucket', [name]); }
  updateBucket(name: string, patch: BucketPatch): Promise<void> { return this.call('updateBucket', [name, patch]); }
  deleteBucket(name: string): Promise<void> { return this.call('deleteBucket', [name]); }
  listBuckets(owner?: string): Promise<Bucket[]> { return this.call('listBuckets', [owner]); }
  getObject(bucket: string, key: string, versionId?: string): Promise<ObjectVersion> { return this.call('getObject', [bucket, key, versionId]); }
  getChunks(id: string, start: number, end: number): Promise<ChunkRef[]> { return this.call('getChunks', [id, start, end]); }
  putObject(o: NewObject, c?: WriteCondition): Promise<WriteResult> { return this.call('putObject', [o, c]); }
  deleteObject(bucket: string, key: string, versionId?: string): Promise<DeleteResult> { return this.call('deleteObject', [bucket, key, versionId]); }
  deleteObjects(bucket: string, targets: { key: string; versionId?: string }[]): Promise<DeleteResult[]> { return this.call('deleteObjects', [bucket, targets]); }
  putObjectTags(bucket: string, key: string, versionId: string | undefined, tags: Tags): Promise<string> { return this.call('putObjectTags', [bucket, key, versionId, tags]); }
  listObjects(q: ListQuery): Promise<ListPage> { return this.call('listObjects', [q]); }
  listVersions(q: VersionQuery): Promise<VersionPage> { return this.call('listVersions', [q]); }
  createUpload(u: NewUpload): Promise<void> { return this.call('createUpload', [u]); }
  getUpload(bucket: string, key: string, uploadId: string): Promise<Upload> { return this.call('getUpload', [bucket, key, uploadId]); }
  putPart(p: NewPart): Promise<void> { return this.call('putPart', [p]); }
  listParts(uploadId: string, after: number, max: number): Promise<Part[]> { return this.call('listParts', [uploadId, after, max]); }
  listUploads(q: UploadQuery): Promise<UploadPage> { return this.call('listUploads', [q]); }
  completeUpload(u: { bucket: string; key: string; uploadId: string }, parts: { partNumber: number; etag: string }[], o: CompletedObject, c?: WriteCondition): Promise<WriteResult> {
    return this.call('completeUpload', [u, parts, o, c]);
  }
  getObjectParts(id: string, after: number, max: number): Promise<ObjectPart[]> { return this.call('getObjectParts', [id, after, max]); }
  abortUpload(bucket: string, key: string, uploadId: string): Promise<void> { return this.call('abortUpload', [bucket, key, uploadId]); }
  staleUploads(before: Date, limit: number): Promise<{ bucket: string; key: string; uploadId: string }[]> { return this.call('staleUploads', [before, limit]); }
  getAccessKey(id: string): Promise<AccessKey | undefined> { return this.call('getAccessKey', [id]); }
  putAccessKey(k: AccessKey): Promise<void> { return this.call('putAccessKey', [k]); }
  referencedChunks(addresses: string[]): Promise<string[]> { return this.call('referencedChunks', [addresses]); }

  async close(): Promise<void> {
    await this.call('close', []);
    await this.worker.terminate();
  }
}

async function createDatabase(dataDir: string): Promise<void> {
  const entry = workerEntry(__dirname, 'create-db');
  const child = spawn(process.execPath, [...entry.execArgv, entry.file, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`creating the metadata database in ${dataDir} failed: ${stderr}`);
}

function revive(e: { name: string; message: string; code?: string }): Error {
  if (e.name === 'MetadataError') return new MetadataError(e.code as MetadataErrorCode);
  return Object.assign(new Error(e.message), { name: e.name, code: e.code });
}
