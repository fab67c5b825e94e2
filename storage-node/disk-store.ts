import { randomBytes } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { link, mkdir, open, opendir, readdir, readFile, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ADDRESS_PATTERN, chunkAddress } from './address';
import { CHUNK_FILE_MAGIC, CHUNK_HEADER_BYTES, ChunkFormatError, DEFAULT_COMPRESS_PROBE_BYTES, decodeChunk, encodeChunk } from './chunk-file-format';
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
/** What `after` and `prefix` of an inventory may be: lowercase hex, up to an address. */
const HEX_PREFIX_PATTERN = /^[0-9a-f]{0,64}$/;

/** One chunk file's facts, from its inode and its 6-byte header. */
export interface ChunkStat {
  /** Last put or claim, ms since epoch. */
  claimedAt: number;
  /** Bytes of the file on disk. */
  storedBytes: number;
  /** The chunk's original length (from the header; 0 if the header is not a chunk header). */
  logicalBytes: number;
}

/** The sizes of a chunk file. */
export type ChunkSizes = Pick<ChunkStat, 'storedBytes' | 'logicalBytes'>;

/** Told when a chunk file appears (a put of new bytes) or disappears (a delete, or a corrupt
 * file set aside) through this store object, so a server can keep running totals. Both calls
 * come synchronously under the address's lock, and must not throw. */
export interface ChunkChangeListener {
  /** Before the file can change on disk: a reader that has not looked yet will see the change. */
  begin(address: string): void;
  /** After, with the file's sizes before and after (undefined: no file), read back from disk. */
  end(address: string, before: ChunkSizes | undefined, after: ChunkSizes | undefined): void;
}

export interface InventoryOptions {
  /** Sweep temp files untouched since then (ms since epoch) in the subtrees walked. */
  debrisBefore?: number;
  /** Only addresses sorting after this one (a cursor: the last address of a previous page). */
  after?: string;
  /** Only addresses starting with these hex digits. */
  prefix?: string;
}

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
  private readonly listeners = new Set<ChunkChangeListener>();
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
    for await (const _ of store.walk({ debrisBefore: Date.now() - DEBRIS_AGE_MS })); // only its sweep
    return store;
  }

  /** Subscribes `listener` to chunk files appearing and disappearing; returns the unsubscribe. */
  onChange(listener: ChunkChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async put(address: string, data: Buffer): Promise<boolean> {
    this.checkUsable(address);
    return this.locks.run(address, async () => {
      const file = this.pathOf(address);
      if (await renewLease(file)) return false;
      await this.changing(address, undefined, () => this.writeChunk(file, data));
      return true;
    });
  }

  /** The chunk's lease and sizes, reading only its header; undefined if not held. */
  async stat(address: string): Promise<ChunkStat | undefined> {
    this.checkUsable(address);
    return statChunkFile(this.pathOf(address));
  }

  /** Whether the chunk is held (one stat, no lease renewal). */
  async has(address: string): Promise<boolean> {
    this.checkUsable(address);
    try {
      await stat(this.pathOf(address));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async claim(address: string): Promise<boolean> {
    this.checkUsable(address);
    return this.locks.run(address, () => renewLease(this.pathOf(address)));
  }

  /** On a corrupt file, sets it aside (renamed under the temp prefix) before throwing, so the
   * next put of the address writes it afresh and the debris sweep removes the bad copy. */
  async get(address: string): Promise<Buffer> {
    this.checkUsable(address);
    try {
      return await this.readVerified(address);
    } catch (err) {
      if (!(err instanceof ChunkCorruptError)) throw err;
    }
    // Look again under the lock: a delete and put may have replaced the file since the read,
    // and only the file seen corrupt under the lock may be set aside.
    return this.locks.run(address, async () => {
      try {
        return await this.readVerified(address);
      } catch (err) {
        if (err instanceof ChunkCorruptError) await this.setAside(address);
        throw err;
      }
    });
  }

  private async readVerified(address: string): Promise<Buffer> {
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

  /** Renames a corrupt chunk file aside; the caller holds the address's lock. */
  private async setAside(address: string): Promise<void> {
    const file = this.pathOf(address);
    const before = await statChunkFile(file);
    if (before === undefined) return;
    const aside = path.join(path.dirname(file), `${TEMP_PREFIX}corrupt-${randomBytes(8).toString('hex')}`);
    await this.changing(address, before, () => rename(file, aside).catch(ignoreNotFound));
  }

  async deleteIfIdle(address: string, claimedBefore: number): Promise<boolean> {
    this.checkUsable(address);
    return this.locks.run(address, async () => {
      const file = this.pathOf(address);
      const before = await statChunkFile(file);
      if (before === undefined || before.claimedAt >= claimedBefore) return false;
      return this.changing(address, before, async () => {
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
    });
  }

  /** Chunks in ascending address order (so a listing can be paged by `after`), one leaf
   * directory in memory at a time. */
  async *inventory(options: InventoryOptions = {}): AsyncGenerator<ChunkInfo> {
    this.checkOpen();
    for (const bound of [options.after, options.prefix]) {
      if (bound !== undefined && !HEX_PREFIX_PATTERN.test(bound)) throw new TypeError(`not a hex prefix: ${JSON.stringify(bound)}`);
    }
    for await (const file of this.walk(options)) {
      let info: Stats;
      try {
        info = await stat(file.path);
      } catch (err) {
        if (isNotFound(err)) continue; // deleted since the directory was listed
        throw err;
      }
      yield { address: file.name, storedBytes: info.size, claimedAt: leaseOf(info) };
    }
  }

  /** The chunk files of the tree in address order, skipping fan-out subtrees that cannot hold
   * an address after `after` with `prefix`. With `debrisBefore`, temp files untouched since
   * then (what interrupted writes and deletes left) are removed in the subtrees walked, so a
   * GC pass walks the tree once; the root's own temp files only by a walk of the whole tree. */
  private async *walk(options: InventoryOptions): AsyncGenerator<{ name: string; path: string }> {
    const { debrisBefore, after = '', prefix = '' } = options;
    const sweep = async (file: string) => {
      if (debrisBefore === undefined) return;
      try {
        if ((await stat(file)).mtimeMs < debrisBefore) await unlink(file);
      } catch (err) {
        ignoreNotFound(err);
      }
    };
    if (after === '' && prefix === '' && debrisBefore !== undefined) {
      for await (const entry of listDir(this.dir)) if (entry.name.startsWith(TEMP_PREFIX)) await sweep(path.join(this.dir, entry.name));
    }
    for (const first of await fanOut(this.dir)) {
      if (!mayHold(first, after, prefix)) continue;
      for (const second of await fanOut(path.join(this.dir, first))) {
        const leafPrefix = first + second;
        if (!mayHold(leafPrefix, after, prefix)) continue;
        const leaf = path.join(this.dir, first, second);
        for (const entry of await sortedEntries(leaf)) {
          if (!entry.isFile()) continue;
          const { name } = entry;
          if (name.startsWith(TEMP_PREFIX)) await sweep(path.join(leaf, name));
          else if (ADDRESS_PATTERN.test(name) && name.startsWith(leafPrefix) && name > after && name.startsWith(prefix)) {
            yield { name, path: path.join(leaf, name) };
          }
        }
      }
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

  /** Runs `work`, which may make the address's file appear or disappear, between the
   * listeners' begin and end; the caller holds the address's lock. */
  private async changing<T>(address: string, before: ChunkSizes | undefined, work: () => Promise<T>): Promise<T> {
    if (this.listeners.size === 0) return work();
    const listeners = [...this.listeners];
    for (const listener of listeners) listener.begin(address);
    try {
      return await work();
    } finally {
      // What is on disk now, whether the work succeeded or not.
      const after = await statChunkFile(this.pathOf(address)).catch(() => undefined);
      for (const listener of listeners) listener.end(address, before, after);
    }
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

/** The names of the fan-out subdirectories (two lowercase hex digits) of dir, sorted. */
async function fanOut(dir: string): Promise<string[]> {
  return (await sortedEntries(dir)).filter((e) => FAN_OUT_PATTERN.test(e.name) && !e.isFile()).map((e) => e.name);
}

/** A directory's entries sorted by name (code-unit order, which is address order for hex). */
async function sortedEntries(dir: string): Promise<Dirent[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether the subtree whose addresses all start with `dirPrefix` may hold an address after
 * `after` that starts with `prefix`. */
function mayHold(dirPrefix: string, after: string, prefix: string): boolean {
  if (dirPrefix < after.slice(0, dirPrefix.length)) return false; // all of it sorts before `after`
  const n = Math.min(dirPrefix.length, prefix.length);
  return dirPrefix.slice(0, n) === prefix.slice(0, n);
}

/** A chunk file's lease and sizes from its inode and header; undefined if it does not exist. */
async function statChunkFile(file: string): Promise<ChunkStat | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const info = await handle.stat();
    const header = Buffer.alloc(CHUNK_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, CHUNK_HEADER_BYTES, 0);
    const logicalBytes = bytesRead === CHUNK_HEADER_BYTES && header[0] === CHUNK_FILE_MAGIC ? header.readUInt32LE(2) : 0;
    return { claimedAt: leaseOf(info), storedBytes: info.size, logicalBytes };
  } finally {
    await handle.close();
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}
