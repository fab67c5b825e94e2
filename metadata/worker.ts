/**
 * Worker-thread host for the embedded metadata store: PGlite occupies the thread that runs
 * it, so it gets its own and the main thread keeps HTTP, SigV4 and hashing.
 * Protocol: { id, method, args } in; { id, result } or { id, error } out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGliteClient } from './pglite-client';
import { SqlMetadataStore } from './sql-store';
import type { MetadataStore } from './store';

export interface WorkerRequest {
  id: number;
  method: keyof MetadataStore;
  args: unknown[];
}

export type WorkerReply = { id: number; result: unknown } | { id: number; error: { name: string; message: string; code?: string } };

async function main(): Promise<void> {
  const port = parentPort!;
  let store: SqlMetadataStore;
  try {
    store = await SqlMetadataStore.open(await PGliteClient.open((workerData as { dataDir: string }).dataDir));
  } catch (e) {
    port.postMessage({ id: 0, error: serialise(e) } satisfies WorkerReply);
    return;
  }
  port.postMessage({ id: 0, result: 'ready' } satisfies WorkerReply);
  port.on('message', async ({ id, method, args }: WorkerRequest) => {
    try {
      const result = await (store[method] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      port.postMessage({ id, result } satisfies WorkerReply);
      if (method === 'close') port.close();
    } catch (e) {
      port.postMessage({ id, error: serialise(e) } satisfies WorkerReply);
    }
  });
}

function serialise(e: unknown): { name: string; message: string; code?: string } {
  const err = e as { name?: string; message?: string; code?: string };
  return { name: err.name ?? 'Error', message: err.message ?? String(e), code: err.code };
}

void main();
