import { Readable } from 'node:stream';
import type { ChunkStore } from '../../storage-node/chunk-store';
import type { MetadataStore, ObjectVersion } from '../../metadata/store';

/**
 * The bytes [start, end] of an object as a byte stream. Only the chunks the range covers are
 * read, `readAhead` of them fetched ahead of the one being sent; the stream is pulled by the
 * socket, so a slow reader holds at most (readAhead + 1) chunks, not the object.
 */
export function readObjectRange(
  meta: MetadataStore,
  chunks: ChunkStore,
  object: ObjectVersion,
  start: number,
  end: number,
  readAhead: number,
): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    if (end < start) return;
    if (object.inline) {
      yield Buffer.from(object.inline.buffer, object.inline.byteOffset, object.inline.byteLength).subarray(start, end + 1);
      return;
    }
    const refs = await meta.getChunks(object.id, start, end);
    const pending: Promise<Buffer>[] = [];
    let next = 0;
    const fill = () => {
      while (next < refs.length && pending.length <= readAhead) {
        const p = chunks.get(refs[next++].address);
        p.catch(() => undefined); // observed when awaited; avoid an unhandled rejection meanwhile
        pending.push(p);
      }
    };
    for (const ref of refs) {
      fill();
      const data = await pending.shift()!;
      if (data.length !== ref.size) throw new Error(`chunk ${ref.address} has ${data.length} bytes, manifest says ${ref.size}`);
      const from = Math.max(start - ref.pos, 0);
      const to = Math.min(end - ref.pos + 1, ref.size);
      yield from === 0 && to === ref.size ? data : data.subarray(from, to);
    }
  }
  // objectMode off: the high-water mark counts bytes, so one buffered chunk is the limit.
  return Readable.from(bytes(), { objectMode: false, highWaterMark: 1 });
}
