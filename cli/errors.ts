/** The CLI's exit codes, as `rfs --help` documents them. */
export const EXIT = {
  ok: 0,
  /** The server refused the request (its error code and message are printed). */
  refused: 1,
  /** Bad command line: commander's usage errors and ours. */
  usage: 2,
  /** The server could not be reached, or did not accept who we are. */
  unreachable: 3,
} as const;

/** Something the user typed is wrong: exit 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
}

/** The server answered with an error: `rfs: <code>: <message>`, exit 1 (3 when it refused
 * our credentials: 401 or 403). */
export class ServerError extends Error {
  readonly exitCode: number;
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.exitCode = status === 401 || status === 403 ? EXIT.unreachable : EXIT.refused;
  }
}

/** No answer at all (refused connection, DNS, TLS), or nothing configured to ask: exit 3. */
export class UnreachableError extends Error {
  readonly exitCode = EXIT.unreachable;
}
