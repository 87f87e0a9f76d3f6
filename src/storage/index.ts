import type { Config } from '../config.js';
import { localStorage } from './local.js';
import type { BlobStorage } from './port.js';
import { s3Storage } from './s3.js';

export function createStorage(config: Config): BlobStorage {
  return config.storage.driver === 's3' ? s3Storage(config.storage) : localStorage(config.storage.dir);
}
