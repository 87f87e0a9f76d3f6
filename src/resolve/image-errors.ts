/** Why an evidence file was refused; the upload route answers it as an AppError with the same key. */
export class ImageRejected extends Error {
  constructor(
    readonly key: 'unsupported_file_type' | 'invalid_evidence',
    message: string,
  ) {
    super(message);
  }
}

/** A file of a supported type that is not one well-formed image of it. */
export const damaged = (what: string) =>
  new ImageRejected('invalid_evidence', `The ${what} file is damaged or contains extra data.`);
