import type { FastifyInstance } from 'fastify';
import type { KeyStatus } from '../../metadata/store';
import type { AdminDeps } from './index';
import { badRequest, notFound, onlyFields, readJson } from './http';
import { newAccessKeyId, newSecretKey } from './ids';
import { keyView, requireUser } from './users';

/** The context a key's secret is sealed under: a sealed secret copied to another key's row
 * does not open there. The identity that unseals it uses the same. */
export const accessKeyContext = (accessKeyId: string): string => `access-key:${accessKeyId}`;

const STATUSES: readonly KeyStatus[] = ['Active', 'Inactive'];

export function registerKeyRoutes(admin: FastifyInstance, deps: AdminDeps): void {
  const iam = deps.services.meta.iam;

  /** The only answer that ever holds the secret: it is generated here, sealed, and forgotten. */
  admin.post<{ Params: { name: string } }>('/users/:name/keys', async (request, reply) => {
    await readJson(request);
    const user = await requireUser(iam, request.params.name);
    const accessKeyId = newAccessKeyId();
    const secretKey = newSecretKey();
    const key = { accessKeyId, userName: user.name, sealedSecret: deps.services.box.seal(secretKey, accessKeyContext(accessKeyId)), status: 'Active' as const, createdAt: new Date() };
    await iam.createKey(key);
    await deps.services.iam.iamChanged(); // a cached "no such key" must not outlive the key's creation
    // Nothing between here and the client may keep the answer.
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ ...keyView(key), secretKey });
  });

  admin.get<{ Params: { name: string } }>('/users/:name/keys', async (request) => {
    const user = await requireUser(iam, request.params.name);
    return { keys: (await iam.listKeys(user.name)).map(keyView) };
  });

  admin.patch<{ Params: { id: string } }>('/keys/:id', async (request) => {
    const body = await readJson(request);
    onlyFields(body, ['status']);
    const status = body.status as KeyStatus;
    if (!STATUSES.includes(status)) throw badRequest('InvalidInput', 'status must be Active or Inactive');
    await iam.setKeyStatus(request.params.id, status);
    await deps.services.iam.iamChanged();
    const key = await iam.getKey(request.params.id);
    if (!key) throw notFound('NoSuchEntity', `no access key ${request.params.id}`);
    return keyView(key);
  });

  admin.delete<{ Params: { id: string } }>('/keys/:id', async (request) => {
    // The store deletes idempotently; the API says when there was nothing to delete.
    if (!(await iam.getKey(request.params.id))) throw notFound('NoSuchEntity', `no access key ${request.params.id}`);
    await iam.deleteKey(request.params.id);
    await deps.services.iam.iamChanged();
    return { accessKeyId: request.params.id, deleted: true };
  });
}
