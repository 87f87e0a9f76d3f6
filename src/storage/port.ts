/** Where evidence files are kept. Keys are opaque paths chosen by Resolve (`{shop}/{upload id}`). */
export interface BlobStorage {
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** The bytes, or null when the object does not exist. */
  get(key: string): Promise<Buffer | null>;
  delete(key: string): Promise<void>;
}
