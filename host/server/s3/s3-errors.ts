// S3's errors: a stable code and HTTP status per failure, rendered (s3-xml.ts) in S3's XML error format so that S3 clients
// (the AWS SDKs, the aws CLI, rclone...) surface them as their own typed errors.
import { BlobError } from '../../../storage/blob/blob-types.ts';

/** The S3 error codes this endpoint answers with, and their statuses (as S3 documents them). */
export const S3_ERROR_STATUS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
} as const;

export type S3ErrorCode = keyof typeof S3_ERROR_STATUS;

export class S3Error extends Error {
  readonly s3Code: S3ErrorCode;
  readonly status: number;
  /** Extra elements of the error document (S3 adds e.g. StringToSign and CanonicalRequest to SignatureDoesNotMatch). */
  readonly extra: Record<string, string>;
  /** Extra response headers (Content-Range on InvalidRange). */
  readonly headers: Record<string, string>;
  constructor(code: S3ErrorCode, message: string, options: { extra?: Record<string, string>; headers?: Record<string, string> } = {}) {
    super(message);
    this.s3Code = code;
    this.status = S3_ERROR_STATUS[code];
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }
}

/** The S3 error for a failure of the object store; anything unexpected becomes InternalError. */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof BlobError) {
    switch (err.blobCode) {
      case 'invalid-key':
        return new S3Error('KeyTooLongError', err.message);
      case 'invalid-range':
        return new S3Error('InvalidRange', err.message);
      case 'checksum-mismatch':
        return new S3Error('BadDigest', err.message);
      case 'no-such-upload':
        return new S3Error('NoSuchUpload', `The specified multipart upload does not exist: ${err.message}`);
      case 'invalid-part':
        // The engine enforces R2's part rules; a part under 5 MiB that is not the last is S3's EntityTooSmall.
        return new S3Error(/at least \d+ bytes/.test(err.message) ? 'EntityTooSmall' : 'InvalidPart', err.message);
      case 'invalid-argument':
        return new S3Error(/customMetadata is at most/.test(err.message) ? 'MetadataTooLarge' : 'InvalidArgument', err.message);
      case 'internal':
        return new S3Error('InternalError', err.message);
    }
  }
  return new S3Error('InternalError', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}
