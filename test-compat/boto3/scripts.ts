import path from 'node:path';
import { ROOT } from '../harness';
import { runCommand } from '../clients';

/** Runs `<name>.py args...` beside this file with `python`, against `endpoint` with the root
 * keys and nothing of the developer's AWS configuration; resolves with its JSON output. */
export async function runScript(python: string, name: string, args: string[], endpoint: string): Promise<any> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  Object.assign(env, {
    RFS_ENDPOINT: endpoint,
    RFS_ACCESS_KEY: ROOT.accessKeyId,
    RFS_SECRET_KEY: ROOT.secretKey,
    AWS_CONFIG_FILE: '/nonexistent/rfs-test-aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/rfs-test-aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    PYTHONIOENCODING: 'utf-8',
    PYTHONDONTWRITEBYTECODE: '1', // no __pycache__ in the source tree
  });
  const r = await runCommand(python, [path.join(__dirname, `${name}.py`), ...args], { env, cwd: __dirname });
  if (r.code !== 0) throw new Error(`${name}.py ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
