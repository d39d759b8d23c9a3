/**
 * The one object-store client of rankgate, over @aws-sdk/client-s3 and its presigner. The edge (workerd) and
 * the backend (Node) both use it against R2, S3, MinIO or a local s3rver. Pure of Node APIs on purpose.
 *
 * Client settings that matter (see docs/PLATFORM.md): path-style URLs (s3rver, MinIO and R2 custom endpoints),
 * region "auto" (R2), and checksums only WHEN_REQUIRED — with the SDK defaults a streamed PutObject is stored with
 * aws-chunked framing and a CRC trailer inside the object, and presigned PUTs carry the checksum of an empty body.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { toHex } from '../formats/hex.ts';

export interface ObjectStoreConfig {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
}

export interface ObjectInfo {
  size: number;
  etag: string | null;
  /**
   * The SHA-256 (hex) the store verified when the object was uploaded with one (`put`'s `sha256Hex`; S3, R2 and
   * MinIO check it and refuse another body), asked for with `head(key, { checksums: true })`; null when the store
   * keeps none (s3rver) or keeps another kind (a multipart upload's composite checksum, a CRC).
   */
  sha256: string | null;
}

/** Bytes, text, or a stream of known length: a web ReadableStream in workerd, a Node Readable in Node. */
export type PutBody = PutObjectCommandInput['Body'];

/** A presigned request: send `method` to `url` with exactly these `headers` (they are part of the signature). */
export interface PresignedRequest {
  method: 'PUT' | 'GET';
  url: string;
  headers: Record<string, string>;
  expiresAt: Date;
}

export class ObjectStore {
  readonly bucket: string;
  private readonly s3: S3Client;

  constructor(config: ObjectStoreConfig) {
    this.bucket = config.bucket;
    this.s3 = new S3Client({
      endpoint: config.endpoint,
      region: config.region ?? 'auto',
      forcePathStyle: true,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Creates the bucket when it is missing (local stacks and tests; production buckets exist already). */
  async ensureBucket(): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  /**
   * Streams need `contentLength`: S3 cannot take a body of unknown length in one PutObject. With `sha256Hex` the
   * store checks the body against it (S3, R2, MinIO; s3rver ignores it) and keeps it for `head`'s `sha256`.
   */
  async put(key: string, body: PutBody, opts: { contentLength?: number; contentType?: string; sha256Hex?: string } = {}): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: opts.contentLength,
        ContentType: opts.contentType,
        ChecksumSHA256: opts.sha256Hex ? hexToBase64(opts.sha256Hex) : undefined,
      }),
    );
  }

  async head(key: string, opts: { checksums?: boolean } = {}): Promise<ObjectInfo | null> {
    try {
      const out = await this.s3.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: opts.checksums ? 'ENABLED' : undefined }),
      );
      // A composite checksum (multipart) is not the object's SHA-256.
      const whole = out.ChecksumSHA256 && out.ChecksumType !== 'COMPOSITE' && !out.ChecksumSHA256.includes('-');
      return { size: out.ContentLength ?? 0, etag: out.ETag ?? null, sha256: whole ? base64ToHex(out.ChecksumSHA256!) : null };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** The whole object, or bytes [start, end] inclusive (an HTTP range), or null when it does not exist. */
  async getBytes(key: string, range?: { start: number; end: number }): Promise<Uint8Array | null> {
    try {
      const out = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async getText(key: string): Promise<string | null> {
    const bytes = await this.getBytes(key);
    return bytes === null ? null : new TextDecoder().decode(bytes);
  }

  /** The whole object, or bytes [start, end] inclusive, as a stream; null when it does not exist. */
  async getStream(key: string, range?: { start: number; end: number }): Promise<{ body: ReadableStream<Uint8Array>; size: number } | null> {
    try {
      const out = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      if (!out.Body) return { body: new Blob([]).stream(), size: 0 };
      return { body: out.Body.transformToWebStream() as ReadableStream<Uint8Array>, size: out.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    await this.s3.send(
      new CopyObjectCommand({ Bucket: this.bucket, Key: toKey, CopySource: `${this.bucket}/${encodeKeyForCopy(fromKey)}` }),
    );
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async delete(keys: string[]): Promise<void> {
    // DeleteObjects takes at most 1000 keys per call.
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.s3.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.delete(await this.list(prefix));
  }

  /**
   * A PUT URL for one object of exactly `contentLength` bytes. When `sha256Hex` is given, the SHA-256 is signed
   * too, so stores that check payload checksums (S3, R2) refuse any other body.
   */
  async presignPut(
    key: string,
    opts: { contentLength: number; expiresInS: number; sha256Hex?: string; contentType?: string },
  ): Promise<PresignedRequest> {
    const checksum = opts.sha256Hex ? hexToBase64(opts.sha256Hex) : undefined;
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ContentLength: opts.contentLength,
      ContentType: opts.contentType,
      ChecksumSHA256: checksum,
    });
    const signed = new Set([
      'content-length',
      ...(checksum ? ['x-amz-checksum-sha256'] : []),
      ...(opts.contentType ? ['content-type'] : []),
    ]);
    const url = await getSignedUrl(this.s3, command, { expiresIn: opts.expiresInS, signableHeaders: signed, unhoistableHeaders: signed });
    const headers: Record<string, string> = { 'content-length': String(opts.contentLength) };
    if (checksum) headers['x-amz-checksum-sha256'] = checksum;
    if (opts.contentType) headers['content-type'] = opts.contentType;
    return { method: 'PUT', url, headers, expiresAt: new Date(Date.now() + opts.expiresInS * 1000) };
  }

  async presignGet(key: string, expiresInS: number): Promise<PresignedRequest> {
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInS });
    return { method: 'GET', url, headers: {}, expiresAt: new Date(Date.now() + expiresInS * 1000) };
  }
}

function isNotFound(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  return err.$metadata.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey' || err.name === 'NoSuchBucket';
}

function encodeKeyForCopy(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function base64ToHex(b64: string): string {
  return toHex(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

function hexToBase64(hex: string): string {
  let bin = '';
  for (let i = 0; i < hex.length; i += 2) bin += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(bin);
}
