/** The merchant API as the portal uses it: the session cookie, plus the CSRF token on every change. */
export class ApiError extends Error {
  constructor(
    readonly key: string,
    message: string,
    readonly status: number,
    readonly errors: { path: string; message: string }[] = [],
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

let csrf = '';
export const setCsrf = (token: string) => {
  csrf = token;
};
/**
 * Called when the session is gone (401): the app shows the sign-in page, or, over a page already open, a sign-in
 * dialog that keeps the page (and what was typed in it).
 */
let onSignedOut: () => void = () => undefined;
export const whenSignedOut = (fn: () => void) => {
  onSignedOut = fn;
};

export async function api<T>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        // A FormData body (an upload) sets its own multipart content type, with the boundary.
        ...(body !== undefined && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}),
        ...(method !== 'GET' ? { 'x-csrf-token': csrf } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError('offline', 'No connection to the server.', 0);
  }
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => ({}))) as {
    error?: { key: string; message: string; errors?: { path: string; message: string }[] };
  };
  if (!res.ok) {
    const e = data.error;
    if (res.status === 401 && !url.endsWith('/login')) onSignedOut();
    const retry = Number(res.headers.get('retry-after'));
    throw new ApiError(
      e?.key ?? 'http_error',
      e?.message ?? res.statusText,
      res.status,
      e?.errors ?? [],
      retry || null,
    );
  }
  return data as T;
}

export const qs = (params: Record<string, string | number | undefined | null>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
};

export interface Me {
  user: { id: string; email: string; name: string | null };
  shops: { slug: string; name: string; role: 'viewer' | 'agent' | 'admin' }[];
  csrf_token: string;
  expires_at: string;
}

export interface ClaimItem {
  line_item_id: string;
  shipment_id: string | null;
  sku: string | null;
  title: string;
  variant_title: string | null;
  quantity: number;
  unit_net_price: number;
  image_url: string | null;
}

export interface Claim {
  id: string;
  number: string;
  order_id: string;
  order_number: string | null;
  shipment_id: string | null;
  flow: string;
  reason: string;
  description: string | null;
  resolution_preference: string | null;
  status: 'pending' | 'accepted' | 'rejected' | 'closed';
  items: ClaimItem[];
  evidence: {
    id: string;
    kind: string;
    line_item_id: string | null;
    content_type: string;
    size: number;
    url: string;
  }[];
  answers: { prompt_id: string; value: string | boolean }[];
  dropoff_permission: boolean | null;
  channel: string;
  language: string | null;
  created_at: string;
  updated_at: string;
  context: Record<string, unknown>;
  tags: string[];
  assignee: string | null;
  version: number;
  history?: {
    id: string;
    actor: { type: string; id: string | null; name: string | null };
    action: string;
    changes: Record<string, unknown>;
    note: string | null;
    created_at: string;
  }[];
  order?: {
    order_number: string;
    order_name: string | null;
    currency: string;
    customer: { email: string | null; first_name: string | null; last_name: string | null };
    shipping_address: Record<string, string | null> | null;
    /** Minor units, in `currency`. */
    totals: { subtotal?: number; shipping: number; discount?: number; tax?: number; total: number };
  };
  shipment?: {
    carrier: string | null;
    tracking_number: string | null;
    tracking_url: string | null;
    phase: string;
  } | null;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export type Address = Record<string, string | null> | null;

export interface Shipment {
  id: string;
  external_id: string;
  carrier: string | null;
  tracking_number: string | null;
  tracking_url: string | null;
  phase: string;
  delivered_at: string | null;
  last_event_at: string | null;
  stuck: boolean;
  line_items: { line_item_id: string; external_id: string | null; quantity: number }[];
  events: {
    id: string;
    time: string;
    code: string;
    phase: string | null;
    description: string | null;
    location: string | null;
  }[];
}

/** An order as GET /v1/shops/{slug}/orders/{id} answers it. */
export interface Order {
  id: string;
  external_id: string | null;
  order_number: string;
  order_name: string | null;
  placed_at: string;
  cancelled_at: string | null;
  currency: string;
  language: string | null;
  tags: string[];
  state: 'placed' | 'partially_fulfilled' | 'fulfilled' | 'cancelled';
  customer: {
    external_id: string | null;
    email: string | null;
    first_name: string | null;
    last_name: string | null;
    phone: string | null;
  };
  shipping_address: Address;
  billing_address: Address;
  totals: { subtotal: number; shipping: number; discount: number; tax: number; total: number };
  line_items: {
    id: string;
    external_id: string;
    sku: string | null;
    title: string;
    variant_title: string | null;
    quantity: number;
    quantity_fulfilled: number;
    quantity_refunded: number;
    unit_price: number;
    discount: number;
    tax: number;
    image_url: string | null;
  }[];
  shipments: Shipment[];
  created_at: string;
  updated_at: string;
}

/** One of an order's `orders/*` events (GET …/orders/{id}/activity). */
export interface OrderActivity {
  id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}
