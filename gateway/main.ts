/** `npm start`: rfs on the embedded default, configured from the environment. */
import { loadConfig } from './config';
import { startRfs } from './app';

async function main(): Promise<void> {
  const config = loadConfig();
  const rfs = await startRfs(config);
  const { accessKeyId, secretKey } = rfs.root;
  process.stdout.write(
    [
      '',
      `rfs is listening on ${rfs.url}  (data in ${config.dataDir})`,
      '',
      `  access key: ${accessKeyId}`,
      `  secret key: ${secretKey}`,
      '',
      'Try it:',
      `  AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretKey} AWS_DEFAULT_REGION=${config.region} \\`,
      `    aws --endpoint-url ${rfs.url} s3 ls`,
      '',
    ].join('\n') + '\n',
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    rfs.services.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await rfs.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(`rfs failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
