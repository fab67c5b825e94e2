/**
 * Worker thread that hashes upload bodies with node:crypto (MD5 for the ETag, SHA-1 and
 * SHA-256 when declared), so the main thread keeps HTTP, chunking and chunk writes. MD5
 * cannot be split across cores; on its own thread it no longer adds to the rest.
 * Protocol: see HashMessage / HashReply.
 */
import { parentPort } from 'node:worker_threads';
import { createHash, type Hash } from 'node:crypto';

export type HashName = 'md5' | 'sha1' | 'sha256';

export type HashMessage =
  | { op: 'start'; id: number; hashes: HashName[] }
  | { op: 'data'; id: number; data: Uint8Array }
  | { op: 'end'; id: number }
  | { op: 'abort'; id: number };

/** An ack hands the batch's memory back, so a session reuses a few buffers instead of
 * leaving one per MiB for the worker's garbage collector. */
export type HashReply =
  | { op: 'ack'; id: number; data: Uint8Array }
  | { op: 'digests'; id: number; digests: Partial<Record<HashName, Uint8Array>> };

const sessions = new Map<number, Map<HashName, Hash>>();
const port = parentPort!;

port.on('message', (m: HashMessage) => {
  switch (m.op) {
    case 'start':
      sessions.set(m.id, new Map(m.hashes.map((h) => [h, createHash(h)])));
      break;
    case 'data':
      for (const h of sessions.get(m.id)?.values() ?? []) h.update(m.data);
      port.postMessage({ op: 'ack', id: m.id, data: m.data } satisfies HashReply, [m.data.buffer as ArrayBuffer]);
      break;
    case 'end': {
      const digests: Partial<Record<HashName, Uint8Array>> = {};
      for (const [name, h] of sessions.get(m.id) ?? []) digests[name] = h.digest();
      sessions.delete(m.id);
      port.postMessage({ op: 'digests', id: m.id, digests } satisfies HashReply);
      break;
    }
    case 'abort':
      sessions.delete(m.id);
      break;
  }
});
