import { randomBytes } from 'node:crypto';

/** A multipart/form-data body with one file part named `file`, built by hand (no client library decides). */
export function photoForm(file: Buffer, filename = 'photo.png', type = 'image/png') {
  const boundary = `----resolve-test-${randomBytes(8).toString('hex')}`;
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        `Content-Type: ${type}\r\n\r\n`,
      'latin1',
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
  ]);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
