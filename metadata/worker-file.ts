import path from 'node:path';

/** Worker threads and helper processes are sibling files: compiled .js in production, .ts
 * loaded through tsx when running from the sources (tests). */
export function workerEntry(dir: string, name: string): { file: string; execArgv: string[] } {
  const ts = path.extname(__filename) === '.ts';
  return { file: path.join(dir, `${name}${ts ? '.ts' : '.js'}`), execArgv: ts ? ['--require', 'tsx/cjs'] : [] };
}
