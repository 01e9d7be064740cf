export { createS3Server, MAX_PUT_BYTES, type S3ServerOptions } from './s3-server.ts';
export { resolveS3Credentials, validateAccessKeys, S3_CREDENTIALS_FILE, type S3Credentials } from './s3-credentials.ts';
export { S3Error, type S3ErrorCode } from './s3-errors.ts';
export type { S3AccessKey } from './sigv4.ts';
