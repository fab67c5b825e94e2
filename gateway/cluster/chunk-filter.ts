import type { FastifyBaseLogger } from 'fastify';
import { RebuildBusyError, type RedisBloom } from '../../metadata/redis-bloom';
import { Periodic } from '../objects/periodic';
import type { Membership } from './membership';

/**
 * Rebuilds the shared chunk filter ("no node holds this chunk") from the storage nodes'
 * inventories: at start, whenever the filter is found untrusted, and every rebuild interval,
 * so chunks GC deleted stop costing a "do you hold it?" round trip. One gateway rebuilds at a
 * time (RedisBloom's own lease); the others skip.
 */
export class ChunkFilterUpkeep extends Periodic<number> {
  constructor(
    private readonly filter: RedisBloom,
    private readonly membership: Membership,
    log?: FastifyBaseLogger,
  ) {
    super('chunk filter rebuild', log);
  }

  protected async run(): Promise<number> {
    const nodes = this.membership.all().filter((n) => n.alive);
    async function* addresses(): AsyncGenerator<string> {
      for (const node of nodes) for await (const chunk of node.client.inventory()) yield chunk.address;
    }
    try {
      return await this.filter.rebuild(addresses());
    } catch (e) {
      if (e instanceof RebuildBusyError) return 0;
      throw e;
    }
  }
}
