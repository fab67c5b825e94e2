import type { PolicyErrorKind } from './policy';
import type { PolicyRequest } from './policy-types';
import {
  compileArn, compileGlob, hasWildcard, isVariable, matchArn, matchGlob, normalizeKey, resolveText, tokenize,
  type ArnPattern, type Resolve, type VariableToken,
} from './wildcard';

/**
 * The Condition element: operators, set qualifiers, `…IfExists`, and the keys a bucket policy
 * may name. Semantics as AWS documents them ("IAM JSON policy elements: Condition operators",
 * "Conditions with multiple context keys or values", "Single-valued vs. multivalued context keys"):
 * operators AND, keys within an operator AND, values of one key OR (NOR for a negated operator);
 * a missing key makes a positive operator false and a negated one true; `…IfExists` makes a
 * missing key true; `ForAllValues` is true and `ForAnyValue` false on a missing key (IfExists
 * or not: AWS evaluates IfExists per value inside the set loop).
 */

export type Fail = (kind: PolicyErrorKind, detail?: string) => never;

type Family = 'String' | 'Numeric' | 'Date' | 'Bool' | 'Binary' | 'Ip' | 'Arn' | 'Null';
type Qualifier = 'all' | 'any' | undefined;

/** True when the request value matches one of the policy's values for the key. */
type ValueTest = (value: string, resolve: Resolve | undefined) => boolean;

export interface CompiledCondition {
  /** Normalised (see normalizeKey). */
  readonly key: string;
  readonly family: Family;
  readonly qualifier: Qualifier;
  readonly ifExists: boolean;
  /** StringNotEquals, NotIpAddress, …: true when the value matches none of the policy's. */
  readonly negated: boolean;
  /** The values as written (what isPublic inspects). */
  readonly values: readonly string[];
  readonly matchesAny: ValueTest;
  /** Null: which answers hold (`"true"`: the key is absent; `"false"`: it is present). */
  readonly nullAbsent: boolean;
  readonly nullPresent: boolean;
  /** Policy variables its values read. */
  readonly variables: readonly VariableToken[];
}

interface OperatorSpec {
  family: Family;
  negated: boolean;
  compile: (values: string[], options: CompileOptions) => ValueTest;
}

interface CompileOptions {
  variables: boolean;
  fail: Fail;
}

const numeric = (test: (a: number, b: number) => boolean): OperatorSpec['compile'] => (values, o) => numericTest(values, o, test);
const date = (test: (a: number, b: number) => boolean): OperatorSpec['compile'] => (values, o) => dateTest(values, o, test);

const EQ = (a: number, b: number) => a === b;
const LT = (a: number, b: number) => a < b;
const LE = (a: number, b: number) => a <= b;
const GT = (a: number, b: number) => a > b;
const GE = (a: number, b: number) => a >= b;

const OPERATORS: Record<string, OperatorSpec> = {
  StringEquals: { family: 'String', negated: false, compile: (v, o) => equalsTest(v, o, false) },
  StringNotEquals: { family: 'String', negated: true, compile: (v, o) => equalsTest(v, o, false) },
  StringEqualsIgnoreCase: { family: 'String', negated: false, compile: (v, o) => equalsTest(v, o, true) },
  StringNotEqualsIgnoreCase: { family: 'String', negated: true, compile: (v, o) => equalsTest(v, o, true) },
  StringLike: { family: 'String', negated: false, compile: likeTest },
  StringNotLike: { family: 'String', negated: true, compile: likeTest },
  NumericEquals: { family: 'Numeric', negated: false, compile: numeric(EQ) },
  NumericNotEquals: { family: 'Numeric', negated: true, compile: numeric(EQ) },
  NumericLessThan: { family: 'Numeric', negated: false, compile: numeric(LT) },
  NumericLessThanEquals: { family: 'Numeric', negated: false, compile: numeric(LE) },
  NumericGreaterThan: { family: 'Numeric', negated: false, compile: numeric(GT) },
  NumericGreaterThanEquals: { family: 'Numeric', negated: false, compile: numeric(GE) },
  DateEquals: { family: 'Date', negated: false, compile: date(EQ) },
  DateNotEquals: { family: 'Date', negated: true, compile: date(EQ) },
  DateLessThan: { family: 'Date', negated: false, compile: date(LT) },
  DateLessThanEquals: { family: 'Date', negated: false, compile: date(LE) },
  DateGreaterThan: { family: 'Date', negated: false, compile: date(GT) },
  DateGreaterThanEquals: { family: 'Date', negated: false, compile: date(GE) },
  Bool: { family: 'Bool', negated: false, compile: boolTest },
  BinaryEquals: { family: 'Binary', negated: false, compile: binaryTest },
  IpAddress: { family: 'Ip', negated: false, compile: ipTest },
  NotIpAddress: { family: 'Ip', negated: true, compile: ipTest },
  ArnEquals: { family: 'Arn', negated: false, compile: arnTest },
  ArnLike: { family: 'Arn', negated: false, compile: arnTest },
  ArnNotEquals: { family: 'Arn', negated: true, compile: arnTest },
  ArnNotLike: { family: 'Arn', negated: true, compile: arnTest },
  Null: { family: 'Null', negated: false, compile: () => () => false },
};

/** Families whose values may hold policy variables (IAM: string and ARN operators). */
const VARIABLE_FAMILIES = new Set<Family>(['String', 'Arn']);

export interface ConditionContext {
  kind: 'identity' | 'resource';
  /** Version 2012-10-17: `${…}` are variables. */
  variables: boolean;
  fail: Fail;
}

/** Compiles a statement's Condition element; AWS's message for anything malformed. */
export function compileConditions(block: unknown, context: ConditionContext): CompiledCondition[] {
  const { fail } = context;
  if (!isPlainObject(block)) return fail('syntax');
  const conditions: CompiledCondition[] = [];
  for (const [operator, keys] of Object.entries(block)) {
    const parsed = parseOperator(operator) ?? fail('conditionType', operator);
    if (!isPlainObject(keys)) return fail('syntax');
    for (const [key, raw] of Object.entries(keys)) {
      checkKey(key, context);
      const values = conditionValues(raw, fail);
      const ipKey = normalizeKey(key) === 'aws:sourceip' && parsed.spec.family !== 'Null';
      if (context.kind === 'resource' && ipKey && !values.every((v) => parseCidr(v))) {
        fail('ipAddress');
      }
      conditions.push(compileOne(key, parsed, values, context));
    }
  }
  return conditions;
}

interface ParsedOperator {
  spec: OperatorSpec;
  qualifier: Qualifier;
  ifExists: boolean;
}

/** `[ForAnyValue:|ForAllValues:]Name[IfExists]`, names case-sensitive as IAM reads them. */
function parseOperator(operator: string): ParsedOperator | undefined {
  let name = operator;
  let qualifier: Qualifier;
  if (name.startsWith('ForAnyValue:')) qualifier = 'any';
  else if (name.startsWith('ForAllValues:')) qualifier = 'all';
  if (qualifier) name = name.slice(name.indexOf(':') + 1);
  const ifExists = name.endsWith('IfExists') && !Object.hasOwn(OPERATORS, name);
  if (ifExists) name = name.slice(0, -'IfExists'.length);
  if (!Object.hasOwn(OPERATORS, name) || (ifExists && name === 'Null')) return undefined;
  return { spec: OPERATORS[name], qualifier, ifExists };
}

function compileOne(key: string, parsed: ParsedOperator, values: string[], context: ConditionContext): CompiledCondition {
  const { spec } = parsed;
  const variables = context.variables && VARIABLE_FAMILIES.has(spec.family);
  const lower = values.map((v) => v.toLowerCase());
  if (spec.family === 'Null' && !lower.every((v) => v === 'true' || v === 'false')) context.fail('conditionValue');
  return {
    key: normalizeKey(key),
    family: spec.family,
    qualifier: parsed.qualifier,
    ifExists: parsed.ifExists,
    negated: spec.negated,
    values,
    matchesAny: spec.compile(values, { variables, fail: context.fail }),
    nullAbsent: lower.includes('true'),
    nullPresent: lower.includes('false'),
    variables: variables ? variablesIn(values) : [],
  };
}

function variablesIn(values: string[]): VariableToken[] {
  return values.flatMap((v) => tokenize(v, { wildcards: false, variables: true }).filter(isVariable));
}

/** Strings, numbers and booleans, or an array of them (IAM reads `10` as `"10"`). */
function conditionValues(raw: unknown, fail: Fail): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : fail('syntax')));
}

/** Does the condition hold for the request? */
export function conditionHolds(c: CompiledCondition, request: PolicyRequest, resolve: Resolve | undefined): boolean {
  const values = request.context.get(c.key);
  const present = values !== undefined && values.length > 0;
  if (c.family === 'Null') return present ? c.nullPresent : c.nullAbsent;
  if (!present) return c.qualifier === 'all' || (c.qualifier === undefined && (c.ifExists || c.negated));
  if (c.qualifier === 'all') {
    for (let i = 0; i < values.length; i++) if (!valueHolds(c, values[i], resolve)) return false;
    return true;
  }
  if (c.qualifier === 'any') {
    for (let i = 0; i < values.length; i++) if (valueHolds(c, values[i], resolve)) return true;
    return false;
  }
  // Unqualified: a positive operator holds when some request value matches; a negated one
  // when none does (a single-valued key makes both the plain per-value rule).
  for (let i = 0; i < values.length; i++) if (c.matchesAny(values[i], resolve)) return !c.negated;
  return c.negated;
}

function valueHolds(c: CompiledCondition, value: string, resolve: Resolve | undefined): boolean {
  return c.negated !== c.matchesAny(value, resolve);
}

// ---- String ----

function equalsTest(values: string[], options: CompileOptions, ignoreCase: boolean): ValueTest {
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  const templates = values.map((v) => tokenize(v, { wildcards: false, variables: options.variables }));
  if (templates.every((t) => !t.some(isVariable))) {
    // Read through the templates: `${$}` and friends are their characters.
    const set = new Set(templates.map((t) => fold(resolveText(t, undefined) ?? '')));
    return (value) => set.has(fold(value));
  }
  return (value, resolve) => {
    const folded = fold(value);
    return templates.some((t) => {
      const text = resolveText(t, resolve);
      return text !== undefined && fold(text) === folded;
    });
  };
}

function likeTest(values: string[], options: CompileOptions): ValueTest {
  const globs = values.map((v) => compileGlob(v, options.variables));
  return (value, resolve) => {
    for (let i = 0; i < globs.length; i++) if (matchGlob(globs[i], value, 0, value.length, resolve)) return true;
    return false;
  };
}

// ---- Numeric ----

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function parseNumber(text: string): number {
  return NUMBER.test(text) ? Number(text) : NaN;
}

function numericTest(values: string[], options: CompileOptions, test: (a: number, b: number) => boolean): ValueTest {
  const numbers = values.map((v) => {
    const n = parseNumber(v);
    return Number.isNaN(n) ? options.fail('conditionValue') : n;
  });
  return (value) => comparesToAny(parseNumber(value), numbers, test);
}

function comparesToAny(request: number, policy: number[], test: (a: number, b: number) => boolean): boolean {
  if (Number.isNaN(request)) return false;
  for (let i = 0; i < policy.length; i++) if (test(request, policy[i])) return true;
  return false;
}

// ---- Date ----

const ISO_8601 =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Milliseconds since the epoch of a W3C ISO 8601 date (`2020`, `2020-01`, `2020-01-01`,
 * `2020-01-01T00:00:01Z`, offsets, fractions) or of epoch seconds; NaN otherwise. Digits
 * alone are epoch seconds, as IAM reads them (so `2020` is 1970, not the year).
 */
export function parseDate(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const m = ISO_8601.exec(text);
  if (!m) return NaN;
  const [, y, mo = '1', d = '1', h = '0', mi = '0', s = '0', fraction = '', zone = ''] = m;
  const fields = [Number(mo), Number(d), Number(h), Number(mi), Number(s)];
  if (fields[0] < 1 || fields[0] > 12 || fields[1] < 1 || fields[1] > 31 || fields[2] > 23 || fields[3] > 59 || fields[4] > 59) {
    return NaN;
  }
  const millis = Number((fraction + '00').slice(0, 3));
  const utc = Date.UTC(Number(y), fields[0] - 1, fields[1], fields[2], fields[3], fields[4], millis);
  return utc - zoneOffsetMinutes(zone) * 60_000;
}

function zoneOffsetMinutes(zone: string): number {
  if (zone === '' || zone === 'Z' || zone === 'z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
}

function dateTest(values: string[], options: CompileOptions, test: (a: number, b: number) => boolean): ValueTest {
  const times = values.map((v) => {
    const t = parseDate(v);
    return Number.isNaN(t) ? options.fail('dateValue') : t;
  });
  return (value) => comparesToAny(parseDate(value), times, test);
}

// ---- Bool, Binary ----

function boolTest(values: string[]): ValueTest {
  const expected = new Set(values.map((v) => v.toLowerCase()));
  return (value) => expected.has(value.toLowerCase());
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Byte-for-byte against the base64 value in the policy; request values are base64 too. */
function binaryTest(values: string[], options: CompileOptions): ValueTest {
  const expected = values.map((v) => (BASE64.test(v) ? Buffer.from(v, 'base64') : options.fail('conditionValue')));
  return (value) => {
    if (!BASE64.test(value)) return false;
    const bytes = Buffer.from(value, 'base64');
    return expected.some((e) => e.equals(bytes));
  };
}

// ---- IP addresses ----

/** An address or CIDR block as 32-bit words (one for IPv4, four for IPv6). */
export interface Cidr {
  readonly v6: boolean;
  readonly words: readonly number[];
  readonly prefix: number;
}

/** `203.0.113.0/24`, `2001:DB8:1234:5678::/64`; a bare address is /32 or /128. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const max = address.v6 ? 128 : 32;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { ...address, prefix: Number(prefixText) };
}

/** An IPv4-mapped IPv6 address (what a dual-stack socket reports) is its IPv4 address. */
export function parseAddress(text: string): { v6: boolean; words: number[] } | undefined {
  const zone = text.indexOf('%');
  const bare = zone < 0 ? text : text.slice(0, zone);
  const v4 = parseIPv4(bare);
  if (v4 !== undefined) return { v6: false, words: [v4] };
  const v6 = parseIPv6(bare);
  if (!v6) return undefined;
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) return { v6: false, words: [v6[3]] };
  return { v6: true, words: v6 };
}

/** Dotted quad, each part 1-3 digits up to 255; by hand, as it runs for every request. */
function parseIPv4(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 0x2e && digits > 0) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else return undefined;
  }
  return dots === 4 ? value : undefined;
}

/** Eight 16-bit groups, `::` for a run of zeros, an IPv4 tail allowed; as four 32-bit words. */
function parseIPv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      const v4 = i === pieces.length - 1 && piece.includes('.') ? parseIPv4(piece) : undefined;
      if (v4 !== undefined) out.push(v4 >>> 16, v4 & 0xffff);
      else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return [0, 1, 2, 3].map((i) => ((all[2 * i] << 16) | all[2 * i + 1]) >>> 0);
}

export function cidrContains(cidr: Cidr, address: { v6: boolean; words: readonly number[] }): boolean {
  if (cidr.v6 !== address.v6) return false;
  for (let i = 0; i < cidr.words.length; i++) {
    const bits = Math.min(32, Math.max(0, cidr.prefix - 32 * i));
    if (bits === 0) return true;
    const mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    if (((cidr.words[i] ^ address.words[i]) & mask) !== 0) return false;
  }
  return true;
}

function ipTest(values: string[], options: CompileOptions): ValueTest {
  const blocks = values.map((v) => parseCidr(v) ?? options.fail('ipAddress'));
  return (value) => {
    const address = parseAddress(value);
    return address !== undefined && blocks.some((b) => cidrContains(b, address));
  };
}

// ---- ARN ----

function arnTest(values: string[], options: CompileOptions): ValueTest {
  const patterns: ArnPattern[] = values.map((v) => compileArn(v, options.variables));
  return (value, resolve) => {
    for (let i = 0; i < patterns.length; i++) if (matchArn(patterns[i], value, resolve)) return true;
    return false;
  };
}

// ---- Keys ----

/** AWS's global condition keys ("AWS global condition context keys"), lower-cased. */
const GLOBAL_KEYS = new Set(
  `principalarn principalaccount principalorgpaths principalorgid principalisawsservice principalservicename
  principalservicenameslist principaltype userid username assumedroot federatedprovider tokenissuetime
  signinsessionarn multifactorauthage multifactorauthpresent chatbotsourcearn ec2instancesourcevpc
  ec2instancesourceprivateipv4 sourceidentity sourceip sourcevpc sourcevpcarn sourcevpce vpceaccount vpceorgid
  vpceorgpaths vpcsourceip resourceaccount resourceorgid resourceorgpaths calledvia calledviafirst calledvialast
  calledviaawsmcp viaawsservice viaawsmcpservice currenttime epochtime referer requestedregion tagkeys
  securetransport sourceaccount sourcearn sourceorgid sourceorgpaths sourceowner useragent ismcpserviceaction`
    .split(/\s+/)
    .map((k) => `aws:${k}`),
);

/** Amazon S3's keys ("Actions, resources, and condition keys for Amazon S3"), lower-cased. */
const S3_KEYS = new Set(
  `accessgrantscope accessgrantsinstancearn accessgrantslocationscope accesspointnetworkorigin dataaccesspointaccount
  dataaccesspointarn existingjoboperation existingjobpriority inventoryaccessibleoptionalfields jobsuspendedcause
  locationconstraint objectcreationoperation requestjoboperation requestjobpriority requestobjecttagkeys
  resourceaccount tlsversion versionid authtype delimiter if-match if-none-match max-keys object-lock-legal-hold
  object-lock-mode object-lock-remaining-retention-days object-lock-retain-until-date prefix signatureage
  signatureversion x-amz-acl x-amz-content-sha256 x-amz-copy-source x-amz-grant-full-control x-amz-grant-read
  x-amz-grant-read-acp x-amz-grant-write x-amz-grant-write-acp x-amz-metadata-directive
  x-amz-object-annotation-directive x-amz-object-if-match x-amz-object-ownership x-amz-server-side-encryption
  x-amz-server-side-encryption-aws-kms-key-id x-amz-server-side-encryption-customer-algorithm x-amz-storage-class
  x-amz-website-redirect-location`
    .split(/\s+/)
    .map((k) => `s3:${k}`),
);

/** Keys that take a tag key after a '/'. */
const TAG_KEY_PREFIXES = new Set([
  'aws:principaltag', 'aws:requesttag', 'aws:resourcetag',
  's3:existingobjecttag', 's3:requestobjecttag', 's3:buckettag', 's3:accesspointtag',
]);

/**
 * Every key names its vendor (`aws:`, `s3:`, …). A bucket policy's `aws:` and `s3:` keys must
 * be ones AWS defines (S3: "Policy has an invalid condition key"); other vendors' keys
 * (cross-service keys such as `ec2:SourceInstanceARN`) are left to never match.
 */
function checkKey(key: string, context: ConditionContext): void {
  const normalized = normalizeKey(key);
  const colon = normalized.indexOf(':');
  if (colon <= 0) context.fail('conditionKey');
  if (context.kind !== 'resource') return;
  const vendor = normalized.slice(0, colon);
  if (vendor !== 'aws' && vendor !== 's3') return;
  const slash = normalized.indexOf('/');
  const known = slash < 0 ? GLOBAL_KEYS.has(normalized) || S3_KEYS.has(normalized)
    : TAG_KEY_PREFIXES.has(normalized.slice(0, slash)) && slash < normalized.length - 1;
  if (!known) context.fail('conditionKey');
}

/** What `conditionKeys` lists for a key: tag keys by their prefix (`s3:existingobjecttag/`). */
export function keyFamily(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? key : key.slice(0, slash + 1);
}

// ---- Public access ("Blocking public access to your Amazon S3 storage", "The meaning of public") ----

/** Keys that, given fixed values, confine a statement to known callers. */
const NARROWING_KEYS = new Set([
  'aws:sourceip', 'aws:sourcearn', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourceowner', 'aws:sourceaccount',
  'aws:sourceorgid', 'aws:principalarn', 'aws:principalaccount', 'aws:principalorgid', 'aws:userid',
  's3:x-amz-server-side-encryption-aws-kms-key-id', 's3:dataaccesspointarn', 's3:dataaccesspointaccount',
]);

/**
 * Does this condition confine the statement to known callers, the way S3 decides a bucket
 * policy is not public: a positive operator that needs the key (no IfExists, no ForAllValues)
 * with only fixed values (no wildcard, no variable); for aws:SourceIp, IpAddress with no block
 * wider than /8 (IPv4) or /32 (IPv6).
 */
export function narrowsToKnownCallers(c: CompiledCondition): boolean {
  if (c.negated || c.ifExists || c.qualifier === 'all' || !NARROWING_KEYS.has(c.key)) return false;
  if (c.key === 'aws:sourceip') return c.family === 'Ip' && c.values.every(isNarrowBlock);
  if (c.family !== 'String' && c.family !== 'Arn') return false;
  return c.values.every(isFixedValue);
}

function isFixedValue(value: string): boolean {
  return !value.includes('${') && !hasWildcard(compileGlob(value));
}

function isNarrowBlock(value: string): boolean {
  const cidr = parseCidr(value);
  return cidr !== undefined && cidr.prefix >= (cidr.v6 ? 32 : 8);
}

// ---- Variables ----

/**
 * A policy variable's value: the request's `variables`, else a single-valued context key
 * (IAM lets any single-valued key be a variable).
 */
export function resolveVariable(request: PolicyRequest, name: string): string | undefined {
  const value = request.variables?.get(name);
  if (value !== undefined) return value;
  const values = request.context.get(name);
  return values !== undefined && values.length === 1 ? values[0] : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
