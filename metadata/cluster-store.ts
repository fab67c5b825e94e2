import type { SqlClient } from './sql';

/** What an administrator or the node itself has set: `up` (serving), `draining` (its chunks
 * move elsewhere, it takes no new ones), `down` (it stopped cleanly). A node that stops
 * heartbeating is down too, whatever this says: see Membership. */
export type NodeState = 'up' | 'draining' | 'down';

/** A node silent for this many heartbeat intervals is down. */
export const HEARTBEATS_BEFORE_DOWN = 5;

/** One row of the membership table. */
export interface NodeRecord {
  id: string;
  url: string;
  zone: string;
  capacityBytes: number;
  freeBytes: number;
  state: NodeState;
  /** Since the last heartbeat, by the database's clock (the only clock every process shares). */
  silentMs: number;
}

const JOB_COLUMNS = 'name, holder, started, expires, progress';

/** A cluster job's lease row, for the admin status. */
export interface JobRecord {
  name: string;
  holder: string;
  started: Date;
  expires: Date;
  progress: Record<string, unknown>;
}

/**
 * The cluster's own rows in the metadata store: membership, the repair queue and job leases.
 * Storage nodes use it too (to register and heartbeat, and to queue a corrupt chunk they
 * found): that is all a node ever reads or writes there. Every statement is CockroachDB's
 * dialect as well as PostgreSQL's (UPSERT as INSERT … ON CONFLICT, unnest, now()).
 */
export class ClusterStore {
  constructor(private readonly db: SqlClient) {}

  /** Registers the node or renews its heartbeat; a draining node stays draining. */
  async heartbeat(node: { id: string; url: string; zone: string; capacityBytes: number; freeBytes: number }): Promise<void> {
    await this.db.query(
      `INSERT INTO storage_nodes (id, url, zone, capacity_bytes, free_bytes, state, last_seen)
       VALUES ($1, $2, $3, $4, $5, 'up', now())
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, zone = excluded.zone, capacity_bytes = excluded.capacity_bytes,
         free_bytes = excluded.free_bytes, last_seen = excluded.last_seen,
         state = CASE WHEN storage_nodes.state = 'draining' THEN 'draining' ELSE 'up' END`,
      [node.id, node.url, node.zone, node.capacityBytes, node.freeBytes],
    );
  }

  /** A node stopping cleanly says so, so gateways stop sending to it at once. */
  async markDown(id: string): Promise<void> {
    await this.db.query(`UPDATE storage_nodes SET state = 'down' WHERE id = $1 AND state = 'up'`, [id]);
  }

  /** Drains a node (or takes it back); false if no such node. */
  async setDraining(id: string, draining: boolean): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE storage_nodes SET state = $2 WHERE id = $1 RETURNING id`,
      [id, draining ? 'draining' : 'up'],
    );
    return rows.length > 0;
  }

  /** Forgets a node (one drained empty, or lost for good). */
  async forget(id: string): Promise<void> {
    await this.db.query('DELETE FROM storage_nodes WHERE id = $1', [id]);
  }

  async nodes(): Promise<NodeRecord[]> {
    const rows = await this.db.query<{
      id: string; url: string; zone: string; capacity_bytes: string; free_bytes: string; state: NodeState; silent_ms: string | number;
    }>(
      `SELECT id, url, zone, capacity_bytes, free_bytes, state,
         (extract(epoch FROM now() - last_seen) * 1000)::INT8 AS silent_ms
       FROM storage_nodes ORDER BY id`,
    );
    return rows.map((r) => ({
      id: r.id, url: r.url, zone: r.zone, capacityBytes: Number(r.capacity_bytes), freeBytes: Number(r.free_bytes),
      state: r.state, silentMs: Math.max(0, Number(r.silent_ms)),
    }));
  }

  /** Queues chunks that lack a replica. The queue, not memory, is what makes "never forgotten" hold. */
  async queueRepair(addresses: string[], reason: string): Promise<void> {
    if (addresses.length === 0) return;
    await this.db.query(
      `INSERT INTO chunk_repairs (address, reason) SELECT a, $2 FROM unnest($1::TEXT[]) AS a ON CONFLICT (address) DO NOTHING`,
      [addresses, reason],
    );
  }

  /** Chunks whose repair is due, oldest first. */
  async dueRepairs(limit: number): Promise<{ address: string; attempts: number }[]> {
    const rows = await this.db.query<{ address: string; attempts: string }>(
      'SELECT address, attempts FROM chunk_repairs WHERE due <= now() ORDER BY due LIMIT $1',
      [limit],
    );
    return rows.map((r) => ({ address: r.address, attempts: Number(r.attempts) }));
  }

  async repaired(addresses: string[]): Promise<void> {
    if (addresses.length === 0) return;
    await this.db.query('DELETE FROM chunk_repairs WHERE address = ANY($1::TEXT[])', [addresses]);
  }

  /** A repair that could not finish (no good copy reachable, targets down) is tried again later. */
  async postponeRepair(address: string, delaySeconds: number): Promise<void> {
    await this.db.query(
      `UPDATE chunk_repairs SET attempts = attempts + 1, due = now() + $2::INT8 * INTERVAL '1 second' WHERE address = $1`,
      [address, Math.ceil(delaySeconds)],
    );
  }

  async repairBacklog(): Promise<number> {
    const [row] = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM chunk_repairs');
    return Number(row.n);
  }

  /** Takes or renews the lease of a job: true while `holder` has it. An expired lease is anyone's. */
  async takeLease(name: string, holder: string, ttlSeconds: number): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO job_leases (name, holder, expires, started, progress)
       VALUES ($1, $2, now() + $3::INT8 * INTERVAL '1 second', now(), '{}'::JSONB)
       ON CONFLICT (name) DO UPDATE SET expires = excluded.expires,
         started = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.started ELSE excluded.started END,
         progress = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.progress ELSE excluded.progress END,
         holder = excluded.holder
       WHERE job_leases.holder = excluded.holder OR job_leases.expires < now()
       RETURNING name`,
      [name, holder, Math.ceil(ttlSeconds)],
    );
    return rows.length > 0;
  }

  async reportProgress(name: string, holder: string, progress: Record<string, unknown>): Promise<void> {
    await this.db.query('UPDATE job_leases SET progress = $3::JSONB WHERE name = $1 AND holder = $2', [name, holder, JSON.stringify(progress)]);
  }

  /** Ends a run: the lease expires now, the last progress stays for the admin status. */
  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.query('UPDATE job_leases SET expires = now() WHERE name = $1 AND holder = $2', [name, holder]);
  }

  async job(name: string): Promise<JobRecord | undefined> {
    const rows = await this.db.query<JobRecord>(`SELECT ${JOB_COLUMNS} FROM job_leases WHERE name = $1`, [name]);
    return rows[0];
  }

  async jobs(): Promise<JobRecord[]> {
    return this.db.query<JobRecord>(`SELECT ${JOB_COLUMNS} FROM job_leases ORDER BY name`);
  }
}
