import type { FastifyInstance } from 'fastify';
import type { IamStore, StoredKey, User } from '../../metadata/store';
import type { AdminDeps } from './index';
import { badRequest, notFound, onlyFields, optionalBoolean, optionalStrings, readJson } from './http';
import { checkUserName, newCanonicalId, newUserId } from './ids';

type Params = { Params: { name: string } };

/** A user as the admin API shows it. */
export function userView(user: User) {
  return {
    name: user.name,
    id: user.id,
    userId: user.userId,
    source: user.source,
    disabled: user.disabled,
    policies: user.policies,
    createdAt: user.createdAt.toISOString(),
    sessionsValidAfter: user.sessionsValidAfter.toISOString(),
  };
}

/** A key as the admin API shows it: never its secret, sealed or not. */
export function keyView(key: StoredKey) {
  return { accessKeyId: key.accessKeyId, userName: key.userName, status: key.status, createdAt: key.createdAt.toISOString() };
}

export async function requireUser(iam: IamStore, name: string): Promise<User> {
  const user = await iam.getUser(name);
  if (!user) throw notFound('NoSuchEntity', `no user ${name}`);
  return user;
}

/** Attaching a policy that does not exist is refused (IAM answers NoSuchEntity too). */
async function requirePolicies(iam: IamStore, names: string[]): Promise<void> {
  for (const name of names) if (!(await iam.getPolicy(name))) throw notFound('NoSuchEntity', `no policy ${name}`);
}

export function registerUserRoutes(admin: FastifyInstance, deps: AdminDeps): void {
  const iam = deps.services.meta.iam;

  admin.get('/users', async () => ({ users: (await iam.listUsers()).map(userView) }));

  admin.post('/users', async (request, reply) => {
    const body = await readJson(request);
    onlyFields(body, ['name', 'policies']);
    const name = checkUserName(body.name);
    const policies = optionalStrings(body, 'policies') ?? [];
    await requirePolicies(iam, policies);
    await iam.createUser({ name, id: newCanonicalId(), userId: newUserId(), source: 'local', policies });
    await deps.services.iam.iamChanged(); // a cached "no such user" must not outlive the user's creation
    return reply.code(201).send(userView(await requireUser(iam, name)));
  });

  admin.get<Params>('/users/:name', async (request) => {
    const user = await requireUser(iam, request.params.name);
    return { ...userView(user), keys: (await iam.listKeys(user.name)).map(keyView) };
  });

  admin.patch<Params>('/users/:name', async (request) => {
    const body = await readJson(request);
    onlyFields(body, ['disabled', 'policies']);
    const disabled = optionalBoolean(body, 'disabled');
    const policies = optionalStrings(body, 'policies');
    if (disabled === undefined && policies === undefined) throw badRequest('InvalidInput', 'nothing to change: give disabled or policies');
    if (policies) await requirePolicies(iam, policies);
    // Disabling ends the user's sessions for good: enabling it again does not bring them back.
    await iam.updateUser(request.params.name, { disabled, policies, sessionsValidAfter: disabled ? new Date() : undefined });
    await deps.services.iam.iamChanged();
    return userView(await requireUser(iam, request.params.name));
  });

  admin.delete<Params>('/users/:name', async (request) => {
    await iam.deleteUser(request.params.name);
    await deps.services.iam.iamChanged();
    return { name: request.params.name, deleted: true };
  });

  /** Every STS session issued to the user so far stops working (its long-lived keys do not:
   * disable or delete those). */
  admin.post<Params>('/users/:name/revoke-sessions', async (request) => {
    await readJson(request);
    await iam.updateUser(request.params.name, { sessionsValidAfter: new Date() });
    await deps.services.iam.iamChanged();
    return userView(await requireUser(iam, request.params.name));
  });
}
