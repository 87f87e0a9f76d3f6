import fs from 'node:fs/promises';
import path from 'node:path';
import type { BlobStorage } from './port.js';

/** Files under a directory (DATA_DIR/uploads by default), written atomically. */
export function localStorage(dir: string): BlobStorage {
  const file = (key: string) => {
    if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/.test(key) || key.includes('..'))
      throw new Error(`invalid storage key ${key}`);
    return path.join(dir, key);
  };
  return {
    async put(key, data) {
      const target = file(key);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const tmp = `${target}.${process.pid}.tmp`;
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, target);
    },
    async get(key) {
      try {
        return await fs.readFile(file(key));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async delete(key) {
      await fs.rm(file(key), { force: true });
    },
  };
}
