import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../protocol/errors';
import type { ChunkSigner } from './chunk-signer';
import type { PayloadAuth } from './types';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** What an x-amz-content-sha256 value declares about the body, before any signer is attached. */
export type DeclaredPayload =
  | { mode: 'unsigned' }
  | { mode: 'sha256'; expectedHex: string }
  | { mode: 'streaming'; trailer: boolean; signed: boolean };

/** Reads an x-amz-content-sha256 value; anything S3 would not accept is InvalidArgument. */
export function parseContentSha256(value: string): DeclaredPayload {
  switch (value) {
    case UNSIGNED_PAYLOAD:
      return { mode: 'unsigned' };
    case STREAMING_SIGNED:
      return { mode: 'streaming', trailer: false, signed: true };
    case STREAMING_SIGNED_TRAILER:
      return { mode: 'streaming', trailer: true, signed: true };
    case STREAMING_UNSIGNED_TRAILER:
      return { mode: 'streaming', trailer: true, signed: false };
  }
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { mode: 'sha256', expectedHex: value.toLowerCase() };
  throw new S3Error(
    'InvalidArgument',
    `x-amz-content-sha256 must be ${UNSIGNED_PAYLOAD}, ${STREAMING_UNSIGNED_TRAILER}, ${STREAMING_SIGNED}, ${STREAMING_SIGNED_TRAILER} or a valid sha256 value.`,
    { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value },
  );
}

/** The lower-case trailer names an x-amz-trailer header declares. */
export function declaredTrailerNames(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const names: string[] = [];
  for (const item of Array.isArray(value) ? value : [value]) {
    for (const name of item.split(',')) {
      const n = name.trim().toLowerCase();
      if (n) names.push(n);
    }
  }
  return names;
}

/** The PayloadAuth for a declared payload; signed streaming gets the chunk signer. */
export function payloadAuth(
  declared: DeclaredPayload,
  signer: ChunkSigner | undefined,
  headers: IncomingHttpHeaders,
): PayloadAuth {
  if (declared.mode !== 'streaming') return declared;
  const trailerNames = declared.trailer ? declaredTrailerNames(headers['x-amz-trailer']) : [];
  return declared.signed && signer
    ? { mode: 'streaming', trailer: declared.trailer, signer, trailerNames }
    : { mode: 'streaming', trailer: declared.trailer, trailerNames };
}
