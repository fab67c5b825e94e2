import type { S3Client } from '@aws-sdk/client-s3';
import { ROOT, s3Client, type TestServer } from '../harness';
import { signRequest } from '../http/signing';
import { startAdminServer } from '../../gateway/admin/admin.testing';

/**
 * Accounts for access tests: an rfs user (its own account) made through the admin API with an
 * SDK client of its own, and unsigned HTTP for anonymous requests.
 */
export interface Account {
  name: string;
  /** Canonical id, as ACLs name it. */
  id: string;
  s3: S3Client;
}

async function admin(url: string, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const text = JSON.stringify(body);
  const signed = await signRequest(url, { method, path, body: text, headers: { 'content-type': 'application/json' } }, { keys: ROOT });
  const res = await fetch(signed.url, { method, headers: signed.headers, body: text });
  const answer = await res.text();
  if (res.status !== 201) throw new Error(`admin ${method} ${path}: ${res.status} ${answer}`);
  return JSON.parse(answer) as Record<string, unknown>;
}

/** A new user with one access key (and no policies: it may use what it owns, and what ACLs or
 * bucket policies grant it). An in-process server's admin API is reached on a listener of its
 * own; an external one's at its endpoint. */
export async function newAccount(server: TestServer, name: string): Promise<Account> {
  const adminServer = server.rfs && (await startAdminServer(server.rfs));
  try {
    const url = adminServer?.url ?? server.url;
    const user = await admin(url, 'POST', '/_rfs/admin/users', { name });
    const key = await admin(url, 'POST', `/_rfs/admin/users/${name}/keys`, {});
    return { name, id: user.id as string, s3: s3Client(server.url, { accessKeyId: key.accessKeyId as string, secretKey: key.secretKey as string }) };
  } finally {
    await adminServer?.close();
  }
}

/** An anonymous (unsigned) request: status and body. */
export async function anonymous(server: TestServer, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${server.url}${path}`, { method, body });
  return { status: res.status, body: await res.text() };
}

/** A request signed by root with a body the SDK would not send (malformed documents). */
export async function rootRequest(server: TestServer, method: string, path: string, query: Record<string, string>, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const signed = await signRequest(server.url, { method, path, query, body, headers }, { keys: ROOT });
  const res = await fetch(signed.url, { method, headers: signed.headers, body });
  return { status: res.status, body: await res.text() };
}

/** The Code and Message of an S3 error body. */
export function errorCode(body: string): { code?: string; message?: string } {
  return { code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1], message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1] };
}
