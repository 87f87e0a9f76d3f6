import type { CustomerClaim, OrderState, SessionAnswer, Upload } from './types';

/** An answer of the API that is not a success, or no answer at all (`offline`). */
export class ApiError extends Error {
  constructor(
    readonly key: string,
    message: string,
    readonly status: number,
    readonly retryAfter: number | null = null,
    readonly errors: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
  get sessionEnded(): boolean {
    return this.key === 'session_expired' || this.key === 'session_required';
  }
}

interface ErrorBody {
  error?: { key?: string; message?: string; errors?: { path: string; message: string }[] };
}

async function toError(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as ErrorBody;
  const retry = Number(res.headers.get('retry-after'));
  return new ApiError(
    body.error?.key ?? 'http_error',
    body.error?.message ?? res.statusText,
    res.status,
    Number.isFinite(retry) && retry > 0 ? retry : null,
    body.error?.errors ?? [],
  );
}

export interface ClaimDraftInput {
  flow: string;
  reason: string;
  items: { line_item_id: string; quantity: number }[];
  description: string | null;
  resolution_preference: string | null;
  evidence: {
    upload_id: string;
    kind: 'photo' | 'package_photo' | 'signature';
    line_item_id?: string | null;
  }[];
  answers: { prompt_id: string; value: string | boolean }[];
  dropoff_permission: boolean | null;
}

/** The customer-flow API (SPEC §14), exactly as headless shops would call it. */
export class Api {
  session: string | null = null;
  /** Called on every answer of the server (an error status included): the connection works. */
  onAnswer?: () => void;
  constructor(
    readonly slug: string,
    public lang: string,
  ) {}

  private url(path: string) {
    return `/v1/resolve/${encodeURIComponent(this.slug)}${path}?lang=${this.lang}`;
  }

  private async call<R>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.session ? { authorization: `Bearer ${this.session}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError('offline', 'No connection', 0);
    }
    this.onAnswer?.();
    if (!res.ok) throw await toError(res);
    return (await res.json()) as R;
  }

  async openByZip(order_number: string, zip_code: string) {
    const s = await this.call<SessionAnswer>('POST', '/sessions', { order_number, zip_code });
    this.session = s.session;
    return s;
  }
  async openByToken(token: string) {
    const s = await this.call<SessionAnswer>('POST', '/sessions', { token });
    this.session = s.session;
    return s;
  }
  order() {
    return this.call<OrderState>('GET', '/order');
  }
  claims() {
    return this.call<{ data: CustomerClaim[] }>('GET', '/claims');
  }
  submitClaim(input: ClaimDraftInput, idempotencyKey: string) {
    return this.call<CustomerClaim>('POST', '/claims', input, { 'idempotency-key': idempotencyKey });
  }
  cancelOrder(idempotencyKey: string) {
    return this.call<OrderState>('POST', '/order/cancel', {}, { 'idempotency-key': idempotencyKey });
  }
  changeAddress(address: Record<string, string | null>, idempotencyKey: string) {
    return this.call<OrderState>('POST', '/order/address', address, { 'idempotency-key': idempotencyKey });
  }

  /** Multipart upload through XHR, the one browser API that reports upload progress. */
  upload(file: Blob, name: string, onProgress: (fraction: number) => void): Promise<Upload> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.url('/uploads'));
      if (this.session) xhr.setRequestHeader('authorization', `Bearer ${this.session}`);
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onerror = () => reject(new ApiError('offline', 'No connection', 0));
      xhr.onload = () => {
        this.onAnswer?.();
        const res = new Response(xhr.responseText, {
          status: xhr.status,
          headers: { 'retry-after': xhr.getResponseHeader('retry-after') ?? '' },
        });
        if (xhr.status === 201) resolve(JSON.parse(xhr.responseText) as Upload);
        else toError(res).then(reject, reject);
      };
      const form = new FormData();
      form.append('file', file, name);
      xhr.send(form);
    });
  }
}
