import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IamError, MetadataError } from '../../metadata/store';
import { MetadataUnavailable } from '../../metadata/sql';
import { S3Error } from '../protocol/errors';

/** The admin API's refusals: a code a script can branch on, and the HTTP status. */
export class AdminError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'AdminError';
  }
}

export const badRequest = (code: string, message: string) => new AdminError(400, code, message);
export const notFound = (code: string, message: string) => new AdminError(404, code, message);

/** IAM's error codes and the HTTP statuses IAM gives them. */
const IAM_STATUS = { EntityAlreadyExists: 409, NoSuchEntity: 404, DeleteConflict: 409 } as const;

/** Any error as the admin API's `{ error: { code, message } }`, with its status. */
export function toAdminError(error: unknown): AdminError {
  if (error instanceof AdminError) return error;
  if (error instanceof IamError) return new AdminError(IAM_STATUS[error.code], error.code, error.message);
  if (error instanceof S3Error) return new AdminError(error.status, error.code, error.message);
  if (error instanceof MetadataError) {
    return new AdminError(error.code === 'NoSuchBucket' ? 404 : 409, error.code, error.code === 'NoSuchBucket' ? 'no such bucket' : error.code);
  }
  if (error instanceof MetadataUnavailable) return new AdminError(503, 'ServiceUnavailable', 'the metadata database is unreachable; try again');
  return new AdminError(500, 'InternalError', 'internal error (see the gateway log)');
}

export function sendAdminError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toAdminError(error);
  // Only the code and the message: request bodies (which may hold a secret) are never logged.
  if (e.status >= 500) request.log.error({ err: error }, 'admin call failed');
  else request.log.debug({ code: e.code, message: e.message }, 'admin call refused');
  if (reply.sent || reply.raw.headersSent) return;
  if (!request.raw.complete) reply.header('connection', 'close');
  reply.code(e.status).type('application/json').send({ error: { code: e.code, message: e.message } });
}

/** Admin bodies are small JSON documents (a policy is a few KiB). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The request body as text. The gateway's server parses no body (object data streams), so it
 * is read here from the socket. A SigV4-signed request signs the body's SHA-256 in
 * x-amz-content-sha256, which authentication could not check before the body arrived: it is
 * checked now.
 */
export async function readBody(request: FastifyRequest): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw badRequest('EntityTooLarge', `the request body is over ${MAX_BODY_BYTES} bytes`);
    parts.push(chunk);
  }
  const body = Buffer.concat(parts);
  const declared = request.headers['x-amz-content-sha256'];
  if (typeof declared === 'string' && /^[0-9a-f]{64}$/i.test(declared)) {
    if (createHash('sha256').update(body).digest('hex') !== declared.toLowerCase()) {
      throw badRequest('XAmzContentSHA256Mismatch', "the body does not match the signed 'x-amz-content-sha256'");
    }
  }
  return body.toString('utf8');
}

/** The body as a JSON object (an empty body is `{}`). */
export async function readJson(request: FastifyRequest): Promise<Record<string, unknown>> {
  const text = await readBody(request);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badRequest('MalformedJSON', `the body is not JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('MalformedJSON', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Refuses fields a route does not know: a typo (`disable` for `disabled`) must not pass as a no-op. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw badRequest('InvalidInput', `unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; expected ${allowed.join(', ')}`);
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badRequest('InvalidInput', `${field} must be true or false`);
  return v;
}

export function optionalStrings(body: Record<string, unknown>, field: string): string[] | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw badRequest('InvalidInput', `${field} must be a list of names`);
  return [...new Set(v as string[])];
}
