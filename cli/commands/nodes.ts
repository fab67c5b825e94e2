import type { Command } from 'commander';
import { adminPath } from '../client';
import { clientFor, emit } from '../context';
import { humanBytes, table } from '../format';

interface NodeView {
  id: string;
  url: string;
  zone: string;
  state: string;
  capacityBytes: number;
  freeBytes: number;
  status?: { chunks?: number; storedBytes?: number; error?: string };
}

export function registerNodeCommands(program: Command): void {
  const node = program
    .command('node')
    .description('list, drain and remove storage nodes')
    .addHelpText(
      'after',
      `
To retire a node: drain it (its chunks move to the other nodes, it takes no new ones),
wait until "rfs node list" shows it holding 0 chunks (or run "rfs job start rebalance
--wait"), then remove it. A node that is down for good can be removed at once; repair
copies its chunks from the other replicas.

Examples:
  rfs node list
  rfs node drain n4
  rfs job start rebalance --wait
  rfs node remove n4`,
    );

  node
    .command('list')
    .description('list the storage nodes with their state, zone and space')
    .action(async (_opts, cmd: Command) => {
      const answer = await clientFor(cmd).get<{ storage: string; nodes: NodeView[] }>('nodes');
      emit(cmd, answer, ({ storage, nodes }) =>
        storage === 'local'
          ? "no storage nodes: this gateway keeps chunks in its own directory\n"
          : table(
              ['id', 'zone', 'state', 'chunks', 'stored', 'free', 'capacity', 'url'],
              nodes.map((n) => [n.id, n.zone, n.state, n.status?.chunks, humanBytes(n.status?.storedBytes), humanBytes(n.freeBytes), humanBytes(n.capacityBytes), n.url]),
            ),
      );
    });

  for (const [verb, what] of [
    ['drain', 'drain a node: its chunks move to other nodes and it takes no new ones'],
    ['undrain', 'take a drained node back into placement'],
  ] as const) {
    node
      .command(verb)
      .description(what)
      .argument('<id>', 'node id (rfs node list)')
      .action(async (id: string, _opts, cmd: Command) => {
        const answer = await clientFor(cmd).call<{ id: string; state: string }>('POST', adminPath('nodes', id, verb));
        emit(cmd, answer, (a) => `node ${a.id} is ${a.state}\n`);
      });
  }

  node
    .command('remove')
    .description('forget a node that is drained empty, or down')
    .argument('<id>', 'node id')
    .action(async (id: string, _opts, cmd: Command) => {
      const answer = await clientFor(cmd).call<{ id: string }>('DELETE', adminPath('nodes', id));
      emit(cmd, answer, (a) => `node ${a.id} removed\n`);
    });
}
