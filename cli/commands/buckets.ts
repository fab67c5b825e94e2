import type { Command } from 'commander';
import { adminPath } from '../client';
import { clientFor, emit } from '../context';
import { fields, humanBytes, parseSize, shortTime, table } from '../format';

interface BucketView {
  name: string;
  owner: string;
  ownerName: string | null;
  region: string;
  createdAt: string;
  versioning: string;
  quotaBytes: number | null;
  usage: { objects: number; logicalBytes: number; physicalBytes: number } | null;
}

const owner = (b: BucketView) => b.ownerName ?? `${b.owner.slice(0, 12)}…`;
const used = (b: BucketView) => (b.quotaBytes && b.usage ? `${Math.round((b.usage.logicalBytes / b.quotaBytes) * 100)}%` : '-');

export function registerBucketCommands(program: Command): void {
  const bucket = program
    .command('bucket')
    .description('inspect buckets and set their quotas')
    .addHelpText(
      'after',
      `
Sizes: "size" is what users stored (every version, before dedup and compression);
"stored" is what the distinct chunks take. A quota limits "size": a PUT that would take a
bucket past it is refused with QuotaExceeded (403). Usage is re-read every few seconds, so
writes through several gateways at once can pass a quota by what they send in that time.
Quota sizes: 500MiB, 10GiB, 2TiB (powers of 1024), 500MB, 2TB (powers of 1000), or bytes.

Examples:
  rfs bucket list
  rfs bucket info photos
  rfs bucket quota set photos 10GiB
  rfs bucket quota clear photos`,
    );

  bucket
    .command('list')
    .description('list every bucket with its owner, usage and quota')
    .action(async (_opts, cmd: Command) => {
      const answer = await clientFor(cmd).get<{ buckets: BucketView[] }>('buckets');
      emit(cmd, answer, ({ buckets }) =>
        buckets.length === 0
          ? 'no buckets\n'
          : table(
              ['name', 'owner', 'objects', 'size', 'stored', 'quota', 'used'],
              buckets.map((b) => [b.name, owner(b), b.usage?.objects, humanBytes(b.usage?.logicalBytes), humanBytes(b.usage?.physicalBytes), humanBytes(b.quotaBytes), used(b)]),
            ),
      );
    });

  bucket
    .command('info')
    .description('show a bucket: owner, versioning, quota and usage')
    .argument('<bucket>', 'bucket name')
    .action(async (name: string, _opts, cmd: Command) => {
      const b = await clientFor(cmd).get<BucketView>(adminPath('buckets', name));
      emit(cmd, b, (v) =>
        fields([
          ['name', v.name],
          ['owner', v.ownerName ? `${v.ownerName} (${v.owner})` : v.owner],
          ['region', v.region],
          ['created', shortTime(v.createdAt)],
          ['versioning', v.versioning],
          ['objects', v.usage?.objects],
          ['size', v.usage ? `${humanBytes(v.usage.logicalBytes)} (${v.usage.logicalBytes} bytes)` : undefined],
          ['stored', v.usage ? `${humanBytes(v.usage.physicalBytes)} (${v.usage.physicalBytes} bytes)` : undefined],
          ['quota', v.quotaBytes ? `${humanBytes(v.quotaBytes)} (${v.quotaBytes} bytes), ${used(v)} used` : 'none'],
        ]),
      );
    });

  const quota = bucket.command('quota').description("set or clear a bucket's quota (a hard limit on its size)");
  quota
    .command('set')
    .description("limit a bucket's size; PUTs past it are refused with QuotaExceeded")
    .argument('<bucket>', 'bucket name')
    .argument('<size>', 'the limit, like 10GiB, 500MB or 1073741824')
    .action(async (name: string, size: string, _opts, cmd: Command) => {
      const bytes = parseSize(size);
      const answer = await clientFor(cmd).call<{ name: string; quotaBytes: number }>('PUT', adminPath('buckets', name, 'quota'), { bytes });
      emit(cmd, answer, (a) => `quota of ${a.name}: ${humanBytes(a.quotaBytes)} (${a.quotaBytes} bytes)\n`);
    });
  quota
    .command('clear')
    .description("remove a bucket's quota")
    .argument('<bucket>', 'bucket name')
    .action(async (name: string, _opts, cmd: Command) => {
      const answer = await clientFor(cmd).call<{ name: string }>('DELETE', adminPath('buckets', name, 'quota'));
      emit(cmd, answer, (a) => `quota of ${a.name} removed\n`);
    });
}
