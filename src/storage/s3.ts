import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config.js';
import type { BlobStorage } from './port.js';

type S3Config = Extract<Config['storage'], { driver: 's3' }>;
type Sdk = typeof import('@aws-sdk/client-s3');

/** Any S3-compatible object store (AWS S3, MinIO, R2, …) through the AWS SDK, loaded on first use. */
export function s3Storage(cfg: S3Config): BlobStorage {
  let ready: Promise<{ sdk: Sdk; client: S3Client }> | null = null;
  const connect = () => {
    ready ??= import('@aws-sdk/client-s3').then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: cfg.region,
        endpoint: cfg.endpoint ?? undefined,
        forcePathStyle: cfg.forcePathStyle,
        credentials:
          cfg.accessKeyId && cfg.secretAccessKey
            ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey }
            : undefined,
      }),
    }));
    return ready;
  };
  return {
    async put(key, data, contentType) {
      const { sdk, client } = await connect();
      await client.send(
        new sdk.PutObjectCommand({ Bucket: cfg.bucket, Key: key, Body: data, ContentType: contentType }),
      );
    },
    async get(key) {
      const { sdk, client } = await connect();
      try {
        const res = await client.send(new sdk.GetObjectCommand({ Bucket: cfg.bucket, Key: key }));
        return res.Body ? Buffer.from(await res.Body.transformToByteArray()) : null;
      } catch (err) {
        if (err instanceof sdk.NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return null;
        throw err;
      }
    },
    async delete(key) {
      const { sdk, client } = await connect();
      await client.send(new sdk.DeleteObjectCommand({ Bucket: cfg.bucket, Key: key }));
    },
  };
}
