import { xmlDocument } from '../protocol/xml';

/** The namespace of every STS answer (the API version 2011-06-15). */
export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

/**
 * STS error codes and their HTTP status, as AWS STS answers them (the common errors and each
 * action's own): https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
 */
export const STS_ERRORS = {
  AccessDenied: 403,
  ExpiredTokenException: 400,
  IDPCommunicationError: 400,
  IDPRejectedClaim: 403,
  InternalFailure: 500,
  InvalidAction: 400,
  InvalidIdentityToken: 400,
  InvalidParameterValue: 400,
  MalformedPolicyDocument: 400,
  MissingParameter: 400,
  PackedPolicyTooLarge: 400,
  ValidationError: 400,
} as const satisfies Record<string, number>;

export type StsErrorCode = keyof typeof STS_ERRORS;

/**
 * An STS refusal; the STS endpoint writes it with stsErrorXml(). Codes from STS_ERRORS take
 * their status from it; another code (an S3 authentication error passed through) brings its own.
 */
export class StsError extends Error {
  readonly status: number;
  constructor(readonly code: StsErrorCode | (string & {}), message: string, status?: number) {
    super(message);
    this.name = 'StsError';
    this.status = status ?? (STS_ERRORS as Record<string, number>)[code] ?? 400;
  }
}

export function isStsError(e: unknown): e is StsError {
  return e instanceof StsError;
}

/** AWS's error document: Type is Sender for the caller's mistakes, Receiver for ours. */
export function stsErrorXml(error: StsError, requestId: string): string {
  return xmlDocument('ErrorResponse', {
    '@xmlns': STS_NAMESPACE,
    Error: { Type: error.status >= 500 ? 'Receiver' : 'Sender', Code: error.code, Message: error.message },
    RequestId: requestId,
  }, false);
}
