import { createHash, type Hash } from 'node:crypto';
import type { PayloadAuth } from '../auth';
import { EMPTY_SHA256, sha256Hex } from '../auth/string-to-sign';
import { S3Error } from '../protocol/errors';

type StreamingPayload = Extract<PayloadAuth, { mode: 'streaming' }>;

export interface AwsChunkedOptions {
  /** x-amz-decoded-content-length: the chunk sizes must add up to it. */
  decodedLength?: number;
  /** Receives the trailers (lower-case names, x-amz-trailer-signature left out) once verified. */
  onTrailers?: (trailers: Record<string, string>) => void;
  /** Overrides `payload.trailerNames`: the trailer names x-amz-trailer declared. */
  trailerNames?: readonly string[];
}

/** Longest chunk header or trailer line accepted, CRLF excluded. */
export const MAX_LINE_BYTES = 4096;

const CR = 0x0d;
const LF = 0x0a;

function truncated(): S3Error {
  return new S3Error('IncompleteBody', 'The request body terminated unexpectedly');
}

function malformed(detail: string): S3Error {
  return new S3Error('IncompleteBody', `The aws-chunked body is malformed: ${detail}.`);
}

/** S3's MalformedTrailerError, which the shared error table lacks. */
function malformedTrailer(detail: string): S3Error {
  return new S3Error(
    'InvalidRequest',
    `The request contained trailing data that was not well-formed or did not conform to our published schema: ${detail}.`,
  );
}

function wrongLength(expected: number, provided: number): S3Error {
  return new S3Error('IncompleteBody', undefined, {
    NumberBytesExpected: String(expected),
    NumberBytesProvided: String(provided),
  });
}

/** Collects one CRLF-terminated line that may span pieces, copying at most MAX_LINE_BYTES + 2. */
class LineReader {
  private pending: Buffer | undefined;

  get empty(): boolean {
    return this.pending === undefined;
  }

  /** The line starting at `pos` (CRLF stripped) and where it ends, or undefined when the piece ends first. */
  take(piece: Buffer, pos: number): { line: Buffer; next: number } | undefined {
    const have = this.pending?.length ?? 0;
    const limit = MAX_LINE_BYTES + 2 - have;
    const end = Math.min(piece.length, pos + limit);
    const at = piece.subarray(pos, end).indexOf(LF);
    if (at < 0) {
      if (end - pos >= limit) throw malformed(`line longer than ${MAX_LINE_BYTES} bytes`);
      const rest = piece.subarray(pos);
      this.pending = this.pending ? Buffer.concat([this.pending, rest]) : Buffer.from(rest);
      return undefined;
    }
    const lf = pos + at;
    const line = this.pending ? Buffer.concat([this.pending, piece.subarray(pos, lf)]) : piece.subarray(pos, lf);
    this.pending = undefined;
    if (line.length === 0 || line[line.length - 1] !== CR) throw malformed('line not terminated by CRLF');
    return { line: line.subarray(0, line.length - 1), next: lf + 1 };
  }
}

/** The chunk-signature extension of a chunk header (`size;chunk-signature=…`). */
function chunkSignature(extensions: string): string {
  for (const ext of extensions.split(';')) {
    const e = ext.trim();
    if (e.startsWith('chunk-signature=')) return e.slice('chunk-signature='.length).trim();
  }
  throw malformed('chunk-signature missing');
}

/**
 * Decodes an aws-chunked body (`hex-size[;chunk-signature=…]\r\n<data>\r\n` … `0…\r\n`, then
 * trailers and a blank line), yielding the data as it arrives, as views into the source buffers.
 *
 * Signatures (chunks and trailer) are checked when each chunk or the trailer block ends, so data
 * already yielded is unverified until the generator has finished without throwing: the consumer
 * must not make it visible before then. Memory is bounded by one source piece plus one header
 * line (4 KiB), whatever the chunk sizes. Framing errors and early ends are IncompleteBody, a
 * bad signature is SignatureDoesNotMatch, an undeclared or missing trailer is InvalidRequest.
 */
export async function* decodeAwsChunked(
  source: AsyncIterable<Buffer>,
  payload: StreamingPayload,
  opts: AwsChunkedOptions = {},
): AsyncGenerator<Buffer> {
  const { signer } = payload;
  const expected = opts.decodedLength;
  const allowed = new Set(opts.trailerNames ?? payload.trailerNames ?? []);
  const lines = new LineReader();
  const trailers = new Map<string, string>();
  let trailerSignature: string | undefined;
  let state = 'header' as 'header' | 'data' | 'data-crlf' | 'trailers' | 'end' | 'done';
  let remaining = 0;
  let crlfSeen = 0;
  let total = 0;
  let previous = signer?.seedSignature ?? '';
  let provided = '';
  let hash: Hash | undefined;

  /** Checks a signature from the body; on success it becomes the previous one of the chain. */
  const verify = (stringToSign: string, sent: string): void => {
    const computed = signer!.sign(stringToSign);
    if (!signer!.matches(computed, sent)) {
      throw new S3Error('SignatureDoesNotMatch', undefined, { StringToSign: stringToSign, SignatureProvided: sent });
    }
    previous = computed;
  };
  const verifyChunk = (dataSha256Hex: string): void => verify(signer!.chunkStringToSign(previous, dataSha256Hex), provided);

  const onHeader = (line: Buffer): void => {
    const text = line.toString('latin1');
    const semi = text.indexOf(';');
    const sizeText = (semi < 0 ? text : text.slice(0, semi)).trim();
    const size = /^[0-9a-fA-F]{1,16}$/.test(sizeText) ? parseInt(sizeText, 16) : NaN;
    if (!Number.isSafeInteger(size)) throw malformed('bad chunk size');
    if (signer) provided = chunkSignature(semi < 0 ? '' : text.slice(semi + 1));
    if (expected !== undefined && total + size > expected) throw wrongLength(expected, total + size);
    total += size;
    if (size > 0) {
      remaining = size;
      if (signer) hash = createHash('sha256');
      state = 'data';
    } else {
      if (signer) verifyChunk(EMPTY_SHA256);
      state = payload.trailer ? 'trailers' : 'end';
    }
  };

  const onTrailer = (line: Buffer): void => {
    if (line.length === 0) {
      state = 'done';
      return;
    }
    const text = line.toString('latin1');
    const colon = text.indexOf(':');
    if (colon <= 0) throw malformedTrailer('a trailer line has no name');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      if (trailerSignature !== undefined) throw malformedTrailer('x-amz-trailer-signature repeated');
      trailerSignature = value;
      return;
    }
    if (!allowed.has(name)) throw malformedTrailer(`${name} was not declared in x-amz-trailer`);
    if (trailers.has(name)) throw malformedTrailer(`${name} repeated`);
    trailers.set(name, value);
  };

  for await (const piece of source) {
    let pos = 0;
    while (pos < piece.length) {
      if (state === 'data') {
        const n = Math.min(remaining, piece.length - pos);
        const data = piece.subarray(pos, pos + n);
        pos += n;
        remaining -= n;
        if (hash) {
          hash.update(data);
          if (remaining === 0) verifyChunk(hash.digest('hex'));
        }
        if (remaining === 0) state = 'data-crlf';
        yield data;
      } else if (state === 'data-crlf') {
        if (piece[pos] !== (crlfSeen === 0 ? CR : LF)) throw malformed('chunk data not followed by CRLF');
        pos++;
        if (++crlfSeen === 2) {
          crlfSeen = 0;
          state = 'header';
        }
      } else if (state === 'done') {
        throw malformed('data after the end of the body');
      } else {
        const got = lines.take(piece, pos);
        if (!got) break;
        pos = got.next;
        if (state === 'header') onHeader(got.line);
        else if (state === 'trailers') onTrailer(got.line);
        else if (got.line.length === 0) state = 'done';
        else throw malformed('data after the final chunk');
      }
    }
  }

  // Some clients end the stream without the blank line after the final chunk or the trailers.
  if (state !== 'done' && !((state === 'trailers' || state === 'end') && lines.empty)) throw truncated();

  if (payload.trailer) {
    for (const name of allowed) if (!trailers.has(name)) throw malformedTrailer(`${name} declared in x-amz-trailer but not sent`);
    if (signer) {
      if (trailerSignature === undefined) throw malformed('x-amz-trailer-signature missing');
      let canonical = '';
      for (const name of [...trailers.keys()].sort()) canonical += `${name}:${trailers.get(name)}\n`;
      verify(signer.trailerStringToSign(previous, sha256Hex(canonical || '\n')), trailerSignature);
    }
  }
  if (expected !== undefined && total !== expected) throw wrongLength(expected, total);
  opts.onTrailers?.(Object.fromEntries(trailers));
}
