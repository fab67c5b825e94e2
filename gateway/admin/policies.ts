import type { FastifyInstance } from 'fastify';
import type { IamStore, NamedPolicy } from '../../metadata/store';
import { parsePolicy, PolicyError } from '../iam/policy';
import type { AdminDeps } from './index';
import { AdminError, badRequest, notFound, readBody } from './http';
import { checkPolicyName } from './ids';

const allow = (actions: string[]) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] }, null, 2);

/** The policies every deployment starts with, to attach to users or map Keycloak roles to. */
export const BUILTIN_POLICIES: Readonly<Record<string, string>> = {
  readwrite: allow(['s3:*']),
  readonly: allow(['s3:Get*', 's3:List*']),
  admin: allow(['s3:*', 'rfs:*', 'sts:*']),
};

/**
 * Creates each built-in policy that does not exist; one an administrator edited is left as it
 * is. Called at every gateway start: gateways starting at once may both write a missing one,
 * with the same text.
 */
export async function ensureBuiltinPolicies(iam: IamStore): Promise<void> {
  for (const [name, document] of Object.entries(BUILTIN_POLICIES)) {
    if (!(await iam.getPolicy(name))) await iam.putPolicy(name, document);
  }
}

function policyView(policy: NamedPolicy) {
  return { name: policy.name, builtin: policy.name in BUILTIN_POLICIES, updatedAt: policy.updatedAt.toISOString() };
}

/** The document as JSON when it is (every stored one was validated), else as its text. */
function documentOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function registerPolicyRoutes(admin: FastifyInstance, deps: AdminDeps): void {
  const iam = deps.services.meta.iam;
  type Params = { Params: { name: string } };

  admin.get('/policies', async () => ({ policies: (await iam.listPolicies()).map(policyView) }));

  /** The body is the policy document itself, checked as IAM checks an identity policy. */
  admin.put<Params>('/policies/:name', async (request, reply) => {
    const name = checkPolicyName(request.params.name);
    const text = await readBody(request);
    try {
      parsePolicy(text, 'identity');
    } catch (e) {
      if (e instanceof PolicyError) throw new AdminError(400, 'MalformedPolicyDocument', e.message);
      throw e;
    }
    const existed = (await iam.getPolicy(name)) !== undefined;
    await iam.putPolicy(name, text);
    await deps.services.iam.iamChanged();
    const stored = await iam.getPolicy(name);
    if (!stored) throw notFound('NoSuchEntity', `policy ${name} was deleted meanwhile`);
    return reply.code(existed ? 200 : 201).send(policyView(stored));
  });

  admin.get<Params>('/policies/:name', async (request) => {
    const policy = await iam.getPolicy(request.params.name);
    if (!policy) throw notFound('NoSuchEntity', `no policy ${request.params.name}`);
    return { ...policyView(policy), document: documentOf(policy.document) };
  });

  admin.delete<Params>('/policies/:name', async (request) => {
    const { name } = request.params;
    // It would come back at the next start; editing it is what sticks.
    if (name in BUILTIN_POLICIES) throw badRequest('ValidationError', `${name} is a built-in policy and cannot be deleted; edit it instead (rfs policy put ${name} <file>)`);
    await iam.deletePolicy(name);
    await deps.services.iam.iamChanged();
    return { name, deleted: true };
  });
}
