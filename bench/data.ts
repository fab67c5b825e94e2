import { createCipheriv, createHash } from 'node:crypto';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/**
 * Deterministic pseudo-random bytes: the AES-128-CTR keystream of a key derived from `seed`.
 * Hardware AES makes it ~1.5 GB/s on one core (well above anything measured here, so the
 * client is not the bottleneck), it is incompressible and never repeats, so neither LZ4 nor
 * deduplication can flatter a figure, and the same seed gives the same bytes in every run.
 */
export class RandomBytes {
  private readonly cipher;
  private zeros = Buffer.alloc(0);

  constructor(seed: number) {
    const key = createHash('sha256').update(`rfs-bench:${seed}`).digest().subarray(0, 16);
    this.cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  }

  /** The next `n` bytes of the stream, in a fresh buffer. */
  next(n: number): Buffer {
    if (this.zeros.length !== n) this.zeros = Buffer.alloc(n);
    return this.cipher.update(this.zeros);
  }
}

/** `total` bytes of the seed's stream in `pieceSize` pieces, generated as they are pulled:
 * only the piece in flight is in memory. */
export function* randomPieces(total: number, pieceSize: number, seed: number): Generator<Buffer> {
  const rng = new RandomBytes(seed);
  for (let done = 0; done < total; done += pieceSize) yield rng.next(Math.min(pieceSize, total - done));
}

/**
 * About `total` bytes of synthetic service logs, in pieces of about `pieceSize`: timestamps,
 * levels, request ids, paths, statuses and a small vocabulary of messages, the kind of text
 * LZ4 compresses 3–5× so that encodeChunk takes its compressed path.
 */
export function logText(total: number, pieceSize: number, seed: number): Buffer[] {
  let x = seed | 0 || 1;
  const rand = (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const hex = (digits: number): string => {
    let s = '';
    while (s.length < digits) s += (rand(0x10000) | 0x10000).toString(16).slice(1);
    return s.slice(0, digits);
  };
  const levels = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
  const services = ['gateway', 'storage-node', 'metadata', 'gc', 'auth'];
  const methods = ['GET', 'GET', 'GET', 'PUT', 'HEAD', 'DELETE'];
  const statuses = [200, 200, 200, 200, 204, 206, 304, 404, 403, 500];
  const users = ['alice', 'bob', 'carol', 'dave', 'svc-backup', 'svc-ingest'];
  const words = ['photos', 'logs', 'backups', 'invoices', '2024', '2025', 'archive', 'tmp', 'images', 'reports'];
  const messages = [
    'request completed',
    'request completed',
    'chunk written',
    'cache miss, fetching from storage node',
    'slow request',
    'retrying after transient error',
    'lease renewed',
    'signature does not match',
  ];
  let t = Date.UTC(2025, 0, 15, 8, 0, 0);
  const pieces: Buffer[] = [];
  let size = 0;
  while (size < total) {
    const lines: string[] = [];
    let len = 0;
    while (len < pieceSize) {
      t += rand(40);
      const path = `/${words[rand(words.length)]}/${words[rand(words.length)]}/obj_${rand(100000).toString().padStart(5, '0')}.${['jpg', 'json', 'log', 'tar.gz'][rand(4)]}`;
      const line =
        `${new Date(t).toISOString()} ${levels[rand(levels.length)].padEnd(5)} [${services[rand(services.length)]}] ` +
        `req=${hex(16)} method=${methods[rand(methods.length)]} path=${path} status=${statuses[rand(statuses.length)]} ` +
        `bytes=${rand(5_000_000)} dur_ms=${(rand(20000) / 10).toFixed(1)} user=${users[rand(users.length)]} ` +
        `msg="${messages[rand(messages.length)]}"\n`;
      lines.push(line);
      len += line.length;
    }
    const piece = Buffer.from(lines.join(''), 'latin1');
    pieces.push(piece);
    size += piece.length;
  }
  return pieces;
}
