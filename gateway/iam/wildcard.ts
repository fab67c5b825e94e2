/**
 * IAM's patterns: `*` (any run of characters) and `?` (one character), with policy variables
 * `${…}` where the policy language allows them, compiled once and matched without allocating.
 *
 * Strings compare code unit by code unit, as AWS compares them: no Unicode normalisation (a
 * fullwidth `ａ` is not `a`), no percent-decoding (`%2F` is three characters), no path
 * resolution (`..` is two dots). Callers lower-case both sides where IAM ignores case.
 * Matching backtracks only to the last star, O(pattern × input) at worst, so no pattern a
 * policy author writes can stall a request (a RegExp of `*a*a*a…` could).
 */

export const STAR: unique symbol = Symbol('*');
export const ONE: unique symbol = Symbol('?');

/** `${aws:username}` or `${aws:username, 'default'}`; the name normalised like a condition key. */
export interface VariableToken {
  readonly variable: string;
  readonly fallback: string | undefined;
}

export type Token = string | typeof STAR | typeof ONE | VariableToken;

/** Looks up a policy variable for the request at hand; undefined when it has no value. */
export type Resolve = (name: string) => string | undefined;

type Shape = 'any' | 'exact' | 'prefix' | 'suffix' | 'general';

export interface Glob {
  readonly shape: Shape;
  /** The literal of the exact/prefix/suffix shapes. */
  readonly literal: string;
  /** Its last (prefix, exact) or first (suffix) code unit: one charCodeAt rejects most
   * candidates before a startsWith, which costs far more. */
  readonly probe: number;
  readonly tokens: readonly Token[];
  /** The variables among the tokens (then the shape is 'general'). */
  readonly variables: readonly VariableToken[];
}

/**
 * Condition key names compare case-insensitively, but a tag key after the first '/' keeps
 * its case: `AWS:SourceIp` → `aws:sourceip`, `s3:ExistingObjectTag/Env` → `s3:existingobjecttag/Env`.
 */
export function normalizeKey(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? key.toLowerCase() : key.slice(0, slash).toLowerCase() + key.slice(slash);
}

/**
 * Splits a pattern into literals, wildcards and variables. `wildcards: false` keeps `*` and `?`
 * literal (StringEquals). With `variables`, `${*}`, `${?}` and `${$}` are the literal characters
 * and `${name}` / `${name, 'default'}` a variable; an unterminated `${` stays literal.
 */
export function tokenize(pattern: string, options: { wildcards: boolean; variables: boolean }): Token[] {
  const tokens: Token[] = [];
  let literal = '';
  const flush = () => {
    if (literal) tokens.push(literal);
    literal = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (options.variables && c === '$' && pattern[i + 1] === '{') {
      const close = pattern.indexOf('}', i + 2);
      if (close > 0) {
        const inner = pattern.slice(i + 2, close);
        if (inner === '*' || inner === '?' || inner === '$') literal += inner;
        else {
          flush();
          tokens.push(variableToken(inner));
        }
        i = close;
        continue;
      }
    }
    if (options.wildcards && (c === '*' || c === '?')) {
      flush();
      if (c === '?') tokens.push(ONE);
      else if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR);
      continue;
    }
    literal += c;
  }
  flush();
  return tokens;
}

/** `aws:username` or `aws:username, 'anonymous'` (IAM's default-value form). */
function variableToken(inner: string): VariableToken {
  const withDefault = /^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$/.exec(inner);
  if (withDefault) return { variable: normalizeKey(withDefault[1]), fallback: withDefault[2] };
  return { variable: normalizeKey(inner.trim()), fallback: undefined };
}

export function compileGlob(pattern: string, variables = false): Glob {
  return globOf(tokenize(pattern, { wildcards: true, variables }));
}

function globOf(tokens: Token[]): Glob {
  const vars = tokens.filter(isVariable);
  const glob = (shape: Shape, literal = ''): Glob => {
    const probe = literal === '' ? -1 : shape === 'suffix' ? literal.charCodeAt(0) : literal.charCodeAt(literal.length - 1);
    return { shape, literal, probe, tokens, variables: vars };
  };
  if (vars.length > 0) return glob('general');
  const [first, second] = tokens;
  if (tokens.length === 0) return glob('exact', '');
  if (tokens.length === 1 && first === STAR) return glob('any');
  if (tokens.length === 1 && typeof first === 'string') return glob('exact', first);
  if (tokens.length === 2 && typeof first === 'string' && second === STAR) return glob('prefix', first);
  if (tokens.length === 2 && first === STAR && typeof second === 'string') return glob('suffix', second);
  return glob('general');
}

export function isVariable(token: Token): token is VariableToken {
  return typeof token === 'object';
}

/** True when the pattern has a `*` or `?` (after variables and `${*}` escapes are read). */
export function hasWildcard(glob: Glob): boolean {
  return glob.tokens.some((t) => t === STAR || t === ONE);
}

/** Does `s[start, end)` match? Variables need `resolve`; one without a value matches nothing. */
export function matchGlob(glob: Glob, s: string, start = 0, end = s.length, resolve?: Resolve): boolean {
  const length = end - start;
  switch (glob.shape) {
    case 'any':
      return true;
    case 'exact':
      return length === glob.literal.length && (length === 0 || (s.charCodeAt(end - 1) === glob.probe && s.startsWith(glob.literal, start)));
    case 'prefix': {
      const n = glob.literal.length;
      return length >= n && s.charCodeAt(start + n - 1) === glob.probe && s.startsWith(glob.literal, start);
    }
    case 'suffix': {
      const n = glob.literal.length;
      return length >= n && s.charCodeAt(end - n) === glob.probe && s.startsWith(glob.literal, end - n);
    }
    default: {
      const tokens = glob.variables.length > 0 ? resolveTokens(glob.tokens, resolve) : glob.tokens;
      return tokens !== undefined && matchTokens(tokens, s, start, end);
    }
  }
}

/** Variables replaced by their values, as literals: a `*` in a user name is not a wildcard. */
export function resolveTokens(tokens: readonly Token[], resolve: Resolve | undefined): Token[] | undefined {
  const out: Token[] = [];
  for (const t of tokens) {
    if (!isVariable(t)) out.push(t);
    else {
      const value = resolve?.(t.variable) ?? t.fallback;
      if (value === undefined) return undefined;
      out.push(value);
    }
  }
  return out;
}

/** The text of literal-and-variable tokens (StringEquals values); undefined when a variable has no value. */
export function resolveText(tokens: readonly Token[], resolve: Resolve | undefined): string | undefined {
  let text = '';
  for (const t of tokens) {
    if (typeof t === 'string') text += t;
    else if (isVariable(t)) {
      const value = resolve?.(t.variable) ?? t.fallback;
      if (value === undefined) return undefined;
      text += value;
    }
  }
  return text;
}

/** Greedy match with backtracking to the last star only: the classic linear-space wildcard match. */
function matchTokens(tokens: readonly Token[], s: string, start: number, end: number): boolean {
  let ti = 0;
  let si = start;
  let starTi = -1;
  let starSi = start;
  for (;;) {
    if (ti < tokens.length) {
      const t = tokens[ti];
      if (t === STAR) {
        starTi = ti++;
        starSi = si;
        continue;
      }
      if (t === ONE) {
        if (si < end) {
          si += charLength(s, si);
          ti++;
          continue;
        }
      } else if (typeof t === 'string' && si + t.length <= end && s.startsWith(t, si)) {
        si += t.length;
        ti++;
        continue;
      }
    } else if (si === end) return true;
    if (starTi < 0 || starSi >= end) return false;
    starSi += charLength(s, starSi);
    si = starSi;
    ti = starTi + 1;
  }
}

/** `?` is one character: a surrogate pair counts as one. */
function charLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
}

/**
 * An ARN pattern, matched segment by segment as IAM does: a wildcard in one of the first five
 * colon-separated segments (`arn:partition:service:region:account:`) never spans a colon; the
 * sixth, the resource, is the rest of the string, colons included. Variables only in the
 * resource part (IAM's rule).
 */
export interface ArnPattern {
  readonly any: boolean;
  /** The whole pattern as one glob, when the first five segments are literal (the common
   * case): a star can then only stand in the resource part, so one match does. */
  readonly whole: Glob | undefined;
  /** Every segment, the last one the rest; used when `head` is undefined. */
  readonly segments: readonly Glob[];
  readonly resource: Glob;
}

export function compileArn(pattern: string, variables = false): ArnPattern {
  const parts = splitArn(pattern);
  const last = parts.length - 1;
  const segments = parts.map((p, i) => compileGlob(p, variables && i === last && last === 5));
  const resource = segments[last];
  const head = parts.slice(0, 5).join(':');
  const literalHead = last === 5 && segments.slice(0, 5).every((g) => g.shape === 'exact') && !head.includes('$');
  const whole = literalHead ? compileGlob(pattern, variables) : undefined;
  return { any: pattern === '*', whole, segments, resource };
}

/** Up to six parts; the last keeps any further colons. */
export function splitArn(s: string): string[] {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < 5; i++) {
    const colon = s.indexOf(':', from);
    if (colon < 0) break;
    parts.push(s.slice(from, colon));
    from = colon + 1;
  }
  parts.push(s.slice(from));
  return parts;
}

export function matchArn(pattern: ArnPattern, s: string, resolve?: Resolve): boolean {
  if (pattern.any) return true;
  if (pattern.whole !== undefined) return matchGlob(pattern.whole, s, 0, s.length, resolve);
  const { segments } = pattern;
  let from = 0;
  for (let i = 0; i < segments.length - 1; i++) {
    const colon = s.indexOf(':', from);
    if (colon < 0 || !matchGlob(segments[i], s, from, colon, resolve)) return false;
    from = colon + 1;
  }
  // Fewer than six segments: the input must not have more of them.
  if (segments.length < 6 && s.indexOf(':', from) >= 0) return false;
  return matchGlob(segments[segments.length - 1], s, from, s.length, resolve);
}

/** The variables an ARN pattern reads. */
export function arnVariables(pattern: ArnPattern): readonly VariableToken[] {
  return pattern.resource.variables;
}
