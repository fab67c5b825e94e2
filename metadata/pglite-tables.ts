/** The tables an rfs PGlite database held (schema versions 1 and 2), copied in this order
 * by the upgrade; schema_migrations is not among them: the new database runs its own. */
export const UPGRADED_TABLES = ['buckets', 'access_keys', 'objects', 'object_versions', 'chunk_refs', 'object_parts', 'uploads', 'parts'] as const;
