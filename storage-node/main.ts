/** `npm run storage-node`: one storage node, configured from the environment (README). */
import pino from 'pino';
import { loadNodeConfig } from './config';
import { startStorageNode } from './node';

async function main(): Promise<void> {
  const config = loadNodeConfig();
  const log = pino({ level: config.logLevel, redact: ['req.headers.authorization'] });
  const node = await startStorageNode(config, log);
  process.stdout.write(`rfs storage node ${node.id} (zone ${config.zone}) is listening on ${node.url}  (data in ${config.dir})\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'storage node shutting down');
    await node.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(`rfs storage node failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
