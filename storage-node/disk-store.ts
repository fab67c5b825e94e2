import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { link, mkdir, open, opendir, readFile, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ADDRESS_PATTERN, chunkAddress } from './address';
import { ChunkFormatError, DEFAULT_COMPRESS_PROBE_BYTES, decodeChunk, encodeChunk } from './chunk-file-format';
import {
  ChunkCorruptError,
  ChunkNotFoundError,
  type ChunkInfo,
  type ChunkStore,
  type ChunkStoreStats,
} from './chunk-store';
import { KeyLock } from './key-lock';

/** Tuning for a DiskChunkStore. */
export interface DiskChunkStoreOptions {
  /** Bytes LZ4 tries before deciding whether a chunk is worth compressing; 0 stores all raw. */
  compressProbeBytes?: number;
}

/** Prefix of files being written, and of chunks being deleted; never referenced. */
const TEMP_PREFIX = '.tmp-';
/** A temp file this old is debris of an interrupted write (a live one is seconds old): open()
 * removes only these, since another process sharing the directory may be writing; GC sweeps
 * younger debris once it is older than its grace period. */
const DEBRIS_AGE_MS = 60 * 60 * 1000;
const FAN_OUT_PATTERN = /^[0-9a-f]{2}$/;

/**
 * A ChunkStore on a local filesystem: one file per chunk at `dir/ab/cd/<address>` (fan-out by
 * the first 2+2 hex digits keeps directories small), written to a temp file, fsynced and
 * renamed into place, so a chunk file is either absent or complete.
 *
 * The file's mtime is its lease (claimedAt): put and claim set it to now, deleteIfIdle
 * compares it with the cutoff. Within this process, put/claim/deleteIfIdle of one address are
 * serialised. Several processes may share the directory (gateways on one volume): a delete
 * first renames the chunk aside, atomically, and checks its lease again there, so a claim
 * from another process either lands before the rename (and the chunk is put back) or finds
 * no file (and the claimer writes the chunk again, or fails its upload), never a lost chunk.
 */
export class DiskChunkStore implements ChunkStore {
  private readonly locks = new KeyLock();
  /** Fan-out directories known to exist durably (or being made so). */
  private readonly dirsReady = new Map<string, Promise<void>>();
  private closed = false;

  private constructor(
    /** Absolute path of the store's root directory. */
    readonly dir: string,
    private readonly probeBytes: number,
  ) {}

  /** Opens (creating if needed) the store at `dir` and clears debris of interrupted writes. */
  static async open(dir: string, opts: DiskChunkStoreOptions = {}): Promise<DiskChunkStore> {
    const root = path.resolve(dir);
    await mkdir(root, { recursive: true });
    await checkTimestampPrecision(root);
    const store = new DiskChunkStore(root, opts.compressProbeBytes ?? DEFAULT_COMPRESS_PROBE_BYTES);
    for await (const _ of store.walk(Date.now() - DEBRIS_AGE_MS)); // only its sweep
    return store;
  }

  async put(address: string, data: Buffer): Promise<boolean> {
    this.checkUsable(address);
    return this.locks.run(address, async () => {
      const file = this.pathOf(address);
      if (await renewLease(file)) return false;
      await this.writeChunk(file, data);
      return true;
    });
  }

  async claim(address: string): Promise<boolean> {
    this.checkUsable(address);
    return this.locks.run(address, () => renewLease(this.pathOf(address)));
  }

  async get(address: string): Promise<Buffer> {
    this.checkUsable(address);
    let file: Buffer;
    try {
      file = await readFile(this.pathOf(address));
    } catch (err) {
      if (isNotFound(err)) throw new ChunkNotFoundError(address);
      throw err;
    }
    let data: Buffer;
    try {
      data = await decodeChunk(file);
    } catch (err) {
      if (err instanceof ChunkFormatError) throw Object.assign(new ChunkCorruptError(address), { cause: err });
      throw err;
    }
    if (chunkAddress(data) !== address) throw new ChunkCorruptError(address);
    return data;
  }

  async deleteIfIdle(address: string, claimedBefore: number): Promise<boolean> {
    this.checkUsable(address);
    return this.locks.run(address, async () => {
      const file = this.pathOf(address);
      let info: Stats;
      try {
        info = await stat(file);
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
      if (leaseOf(info) >= claimedBefore) return false;
      const aside = path.join(path.dirname(file), `${TEMP_PREFIX}gc-${randomBytes(8).toString('hex')}`);
      try {
        await rename(file, aside);
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
      let lease: number;
      try {
        lease = leaseOf(await stat(aside));
      } catch (err) {
        if (isNotFound(err)) return false; // swept as debris by another process's collector
        throw err;
      }
      if (lease < claimedBefore) {
        await unlink(aside).catch(ignoreNotFound);
        return true;
      }
      // Claimed by another process between the first look and the rename: put it back,
      // unless a writer has meanwhile stored the same content again under the name.
      await link(aside, file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await unlink(aside).catch(ignoreNotFound);
      return false;
    });
  }

  async *inventory(options: { debrisBefore?: number } = {}): AsyncGenerator<ChunkInfo> {
    this.checkOpen();
    for await (const file of this.walk(options.debrisBefore)) {
      const { name } = file;
      if (!ADDRESS_PATTERN.test(name) || !file.path.endsWith(path.join(name.slice(0, 2), name.slice(2, 4), name))) continue;
      let info: Stats;
      try {
        info = await stat(file.path);
      } catch (err) {
        if (isNotFound(err)) continue; // deleted since the directory was listed
        throw err;
      }
      yield { address: name, storedBytes: info.size, claimedAt: leaseOf(info) };
    }
  }

  /** The files of the tree but temp files; with `debrisBefore`, temp files untouched since
   * then (what interrupted writes and deletes left) are removed on the way, so a GC pass
   * walks the tree once. */
  private async *walk(debrisBefore?: number): AsyncGenerator<{ name: string; path: string }> {
    const sweep = async (file: string) => {
      if (debrisBefore === undefined) return;
      try {
        if ((await stat(file)).mtimeMs < debrisBefore) await unlink(file);
      } catch (err) {
        ignoreNotFound(err);
      }
    };
    for await (const entry of listDir(this.dir)) if (entry.name.startsWith(TEMP_PREFIX)) await sweep(path.join(this.dir, entry.name));
    for await (const file of this.leafFiles()) {
      if (file.name.startsWith(TEMP_PREFIX)) await sweep(file.path);
      else yield file;
    }
  }

  async stats(): Promise<ChunkStoreStats> {
    let chunks = 0;
    let storedBytes = 0;
    for await (const info of this.inventory()) {
      chunks++;
      storedBytes += info.storedBytes;
    }
    return { chunks, storedBytes };
  }

  /** Waits for operations under way; later calls throw. */
  async close(): Promise<void> {
    this.closed = true;
    await this.locks.drain();
  }

  private pathOf(address: string): string {
    return path.join(this.dir, address.slice(0, 2), address.slice(2, 4), address);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('DiskChunkStore is closed');
  }

  private checkUsable(address: string): void {
    this.checkOpen();
    if (!ADDRESS_PATTERN.test(address)) throw new TypeError(`not a chunk address: ${JSON.stringify(address)}`);
  }

  /** Writes the chunk beside its final name, makes it durable, then renames it into place. */
  private async writeChunk(file: string, data: Buffer): Promise<void> {
    const encoded = await encodeChunk(data, this.probeBytes);
    const dir = path.dirname(file);
    await this.ensureDir(dir);
    const temp = path.join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
    let handle: FileHandle | undefined;
    try {
      handle = await open(temp, 'wx');
      await writeAll(handle, [encoded.header, encoded.payload]);
      // The lease starts now, on the same clock as claim() and the collector's cutoff: the
      // kernel's own mtime comes from a coarse clock that can lag Date.now() by milliseconds.
      const now = new Date();
      await handle.utimes(now, now);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(temp, file);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await fsyncDir(dir);
  }

  /** Creates a fan-out directory if needed and fsyncs the parents of what it created, so the
   * new entries survive a crash. Concurrent callers share one attempt. */
  private ensureDir(dir: string): Promise<void> {
    let ready = this.dirsReady.get(dir);
    if (ready === undefined) {
      ready = (async () => {
        const created = await mkdir(dir, { recursive: true });
        if (created === undefined) return;
        const parents: string[] = [];
        for (let d = dir; ; d = path.dirname(d)) {
          parents.push(path.dirname(d));
          if (d === created || d === this.dir) break;
        }
        for (const parent of parents) await fsyncDir(parent);
      })();
      ready.catch(() => this.dirsReady.delete(dir));
      this.dirsReady.set(dir, ready);
    }
    return ready;
  }

  /** Every file in the leaf (ab/cd) directories, streamed one directory at a time. */
  private async *leafFiles(): AsyncGenerator<{ name: string; path: string }> {
    for await (const first of subdirectories(this.dir)) {
      for await (const second of subdirectories(first)) {
        for await (const entry of listDir(second)) {
          if (entry.isFile()) yield { name: entry.name, path: path.join(second, entry.name) };
        }
      }
    }
  }
}

/** A chunk's lease from its file's mtime, rounded up to the millisecond: utimes stores the
 * ms value as float seconds and can read back a hair below it, and rounding up never makes a
 * claim look older than it was. */
function leaseOf(info: Stats): number {
  return Math.ceil(info.mtimeMs);
}

/** Sets the file's mtime (its lease) to now; false if it does not exist. */
async function renewLease(file: string): Promise<boolean> {
  const now = new Date();
  try {
    await utimes(file, now, now);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Leases need millisecond mtimes; refuse a filesystem that would round a claim down to a
 * coarser step (and so make it look older than a collector's cutoff). */
async function checkTimestampPrecision(root: string): Promise<void> {
  const probe = path.join(root, `${TEMP_PREFIX}mtime-probe-${randomBytes(4).toString('hex')}`);
  const at = new Date(1_700_000_000_123);
  await (await open(probe, 'w')).close();
  try {
    await utimes(probe, at, at);
    const got = leaseOf(await stat(probe));
    if (got !== at.getTime()) {
      throw new Error(`filesystem at ${root} keeps mtimes to ${got}, not ${at.getTime()}: too coarse for chunk leases`);
    }
  } finally {
    await unlink(probe).catch(ignoreNotFound);
  }
}

async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const { bytesWritten } = await handle.writev(buffers, 0);
  if (bytesWritten === total) return;
  // A short write (rare on regular files): finish the rest piecewise.
  const rest = Buffer.concat(buffers).subarray(bytesWritten);
  for (let done = 0; done < rest.length; ) {
    const { bytesWritten: n } = await handle.write(rest, done, rest.length - done, bytesWritten + done);
    done += n;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function* listDir(dir: string) {
  let handle;
  try {
    handle = await opendir(dir);
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw err;
  }
  yield* handle; // iterating closes the handle when done
}

/** The fan-out subdirectories (two lowercase hex digits) of dir. */
async function* subdirectories(dir: string): AsyncGenerator<string> {
  for await (const entry of listDir(dir)) {
    if (FAN_OUT_PATTERN.test(entry.name) && !entry.isFile()) yield path.join(dir, entry.name);
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}
