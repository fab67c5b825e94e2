import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { AdminClient, adminPath } from '../../cli/client';
import { oidcUserName } from '../../gateway/sts/sts';
import { ROOT, startTestServer, type TestServer } from '../harness';
import { runCommand, tempDir, type RunResult } from '../clients';
import { startKeycloakLookalike, type KeycloakLookalike } from '../oidc/keycloak-lookalike';

/**
 * What the STS client suite runs against: a gateway of its own (temp data dir, embedded
 * PostgreSQL) trusting a Keycloak-lookalike realm (RFS_OIDC_ISSUER), a second realm that it
 * does not trust, the admin API as the `rfs` CLI calls it (root-signed), and a temp dir for
 * token files and client configuration. Everything is closed by close().
 */
export interface StsEnv {
  server: TestServer;
  url: string;
  /** The realm the gateway trusts. */
  realm: KeycloakLookalike;
  /** Another realm (another issuer): its tokens are real, but not for this gateway. */
  otherRealm: KeycloakLookalike;
  /** The admin API as root (the `rfs` CLI's own client). */
  admin: AdminClient;
  /** A temp dir for token files, client configs and downloads. */
  work: string;
  /** The rfs user name of a realm user (after its first sign-in). */
  userNameOf(username: string): string;
  /** The admin API path of a realm user: its name holds '/', encoded once. */
  adminUserPath(username: string, ...rest: string[]): string;
  close(): Promise<void>;
}

/** The audience the gateway wants: Keycloak's access tokens name the client in azp. */
export const CLIENT_ID = 'rfs-sts';
/** The longest session this gateway issues (RFS_STS_MAX_SECONDS; AWS's default is 12 h). */
export const STS_MAX_SECONDS = 7200;

export async function startStsEnv(): Promise<StsEnv> {
  const [realm, otherRealm] = await Promise.all([startKeycloakLookalike({ clientId: CLIENT_ID }), startKeycloakLookalike({ clientId: CLIENT_ID })]);
  let server: TestServer | undefined;
  let work: string | undefined;
  try {
    server = await startTestServer({ RFS_OIDC_ISSUER: realm.issuer, RFS_OIDC_AUDIENCE: CLIENT_ID, RFS_STS_MAX_SECONDS: String(STS_MAX_SECONDS) });
    work = await tempDir('sts');
  } catch (e) {
    await server?.close();
    await Promise.all([realm.close(), otherRealm.close()]);
    throw e;
  }
  const started = server;
  const dir = work;
  const userNameOf = (username: string) => oidcUserName(realm.issuer, realm.subjectOf(username));
  return {
    server: started,
    url: started.url,
    realm,
    otherRealm,
    admin: new AdminClient(started.url, { kind: 'sigv4', accessKey: ROOT.accessKeyId, secretKey: ROOT.secretKey, region: 'us-east-1' }),
    work: dir,
    userNameOf,
    adminUserPath: (username, ...rest) => adminPath('users', userNameOf(username), ...rest),
    async close() {
      await started.close();
      await Promise.all([realm.close(), otherRealm.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Temporary credentials as STS answers them. */
export interface StsCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

/** An STS answer off the wire: the status, and the parsed XML (result or error). */
export interface StsAnswer {
  status: number;
  contentType: string;
  /** The `<Action>Result` element of a success. */
  result?: Record<string, any>;
  /** The `<Error>` of a refusal. */
  error?: { Type: string; Code: string; Message: string };
  requestId?: string;
  xmlns?: string;
}

const xml = new XMLParser({ parseTagValue: false, ignoreAttributes: false, attributeNamePrefix: '@' });

/** One unsigned STS query-API call (`POST /`, form-encoded), as a browser or curl would send it. */
export async function stsPost(url: string, params: Record<string, string>): Promise<StsAnswer> {
  const response = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams({ Version: '2011-06-15', ...params }).toString(),
  });
  const text = await response.text();
  const doc = xml.parse(text) as Record<string, any>;
  const answer: StsAnswer = { status: response.status, contentType: response.headers.get('content-type') ?? '' };
  if (doc.ErrorResponse) {
    answer.error = doc.ErrorResponse.Error;
    answer.requestId = doc.ErrorResponse.RequestId;
    answer.xmlns = doc.ErrorResponse['@xmlns'];
  } else {
    const response = doc[`${params.Action}Response`];
    if (!response) throw new Error(`unexpected STS answer ${answer.status}: ${text.slice(0, 500)}`);
    answer.result = response[`${params.Action}Result`];
    answer.requestId = response.ResponseMetadata?.RequestId;
    answer.xmlns = response['@xmlns'];
  }
  return answer;
}

/** AssumeRoleWithWebIdentity over the wire; the credentials, or a throw with the refusal. */
export async function assumeWithToken(url: string, token: string, role = 'readwrite', extra: Record<string, string> = {}): Promise<StsCredentials> {
  const answer = await stsPost(url, {
    Action: 'AssumeRoleWithWebIdentity', RoleArn: `arn:aws:iam:::role/${role}`, RoleSessionName: 'sts-suite', WebIdentityToken: token, ...extra,
  });
  if (!answer.result) throw new Error(`STS refused (${answer.status}): ${answer.error?.Code} ${answer.error?.Message}`);
  return answer.result.Credentials as StsCredentials;
}

/** An S3 client signing with temporary credentials (sessionToken omitted or replaced when asked). */
export function sessionS3(url: string, creds: StsCredentials, opts: { sessionToken?: string | null } & S3ClientConfig = {}): S3Client {
  const { sessionToken, ...extra } = opts;
  const token = sessionToken === null ? undefined : (sessionToken ?? creds.SessionToken);
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: creds.AccessKeyId, secretAccessKey: creds.SecretAccessKey, ...(token === undefined ? {} : { sessionToken: token }) },
    ...extra,
  });
}

// ---------------------------------------------------------------- the real clients

/** The parent environment without any AWS_* variable, plus what every client run needs. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return { ...env, PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1', AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '', ...extra };
}

/**
 * The aws cli with a config of our own (one attempt: a retry would hide a refusal) and an
 * empty credentials file: no credentials at all unless `credentials` are given, as
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (left out when SessionToken is '').
 */
export async function awsCli(env: StsEnv, args: string[], credentials?: StsCredentials): Promise<RunResult> {
  const config = path.join(env.work, 'aws-config');
  const empty = path.join(env.work, 'aws-credentials');
  await writeFile(config, '[default]\nregion = us-east-1\nmax_attempts = 1\n');
  await writeFile(empty, '');
  const keys = credentials
    ? {
        AWS_ACCESS_KEY_ID: credentials.AccessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.SecretAccessKey,
        ...(credentials.SessionToken === '' ? {} : { AWS_SESSION_TOKEN: credentials.SessionToken }),
      }
    : {};
  return runCommand('aws', [...args, '--endpoint-url', env.url], {
    env: cleanEnv({ AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: empty, AWS_DEFAULT_REGION: 'us-east-1', ...keys }),
    cwd: env.work,
    timeoutMs: 60_000,
  });
}

/**
 * A boto3 user's script: AssumeRoleWithWebIdentity (unsigned, endpoint_url the gateway), then
 * an s3 client and an sts client with the credentials it got: upload a file, download it,
 * GetCallerIdentity, and one refused write where asked. Prints one JSON document.
 */
export const BOTO3_SCRIPT = String.raw`
import json, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint = os.environ["RFS_ENDPOINT"]
once = Config(retries={"max_attempts": 1, "mode": "standard"})
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", config=once)
answer = sts.assume_role_with_web_identity(
    RoleArn=os.environ["RFS_ROLE_ARN"],
    RoleSessionName="boto3-session",
    WebIdentityToken=os.environ["RFS_WEB_IDENTITY_TOKEN"],
    DurationSeconds=900,
)
c = answer["Credentials"]
keys = dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 1, "mode": "standard"}), **keys)
bucket, key = os.environ["RFS_BUCKET"], os.environ["RFS_KEY"]
with open(os.environ["RFS_UPLOAD"], "rb") as f:
    s3.put_object(Bucket=bucket, Key=key, Body=f.read())
with open(os.environ["RFS_DOWNLOAD"], "wb") as f:
    f.write(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
refused = None
try:
    s3.put_object(Bucket=os.environ["RFS_OTHER_BUCKET"], Key=key, Body=b"x")
except ClientError as err:
    refused = {"code": err.response["Error"].get("Code"), "status": err.response["ResponseMetadata"].get("HTTPStatusCode")}
json.dump({
    "accessKeyId": c["AccessKeyId"],
    "expiration": c["Expiration"].isoformat(),
    "assumedRoleArn": answer["AssumedRoleUser"]["Arn"],
    "subject": answer["SubjectFromWebIdentityToken"],
    "provider": answer.get("Provider"),
    "audience": answer.get("Audience"),
    "otherBucket": refused,
}, sys.stdout)
`;

export async function runBoto3(python: string, env: Record<string, string>): Promise<Record<string, any>> {
  const r = await runCommand(python, ['-'], {
    env: cleanEnv({ AWS_CONFIG_FILE: '/nonexistent/rfs-sts-aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/rfs-sts-aws-credentials', ...env }),
    input: BOTO3_SCRIPT,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`boto3 script exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}
