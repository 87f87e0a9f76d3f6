// The customer-flow API's shapes, taken from the server's own definitions (type-only imports: nothing of
// the server ends up in the bundle).

import type { customerOrder } from '../../../src/resolve/customer-view';
import type { FlowEligibility, ReasonCode } from '../../../src/resolve/eligibility';
import type { Branding } from '../../../src/resolve/settings';

export type { Branding, FlowEligibility, ReasonCode };
export type Flow = FlowEligibility['flow'];
export type CustomerOrder = ReturnType<typeof customerOrder>;
export type Level = 'zip' | 'token' | 'preview';

export interface OrderState {
  level: Level;
  expires_at: string;
  order: CustomerOrder;
  flows: FlowEligibility[];
  actions: { cancel: boolean; change_address: boolean };
}
export interface SessionAnswer extends OrderState {
  session: string;
}

export interface CustomerClaim {
  id: string;
  number: string;
  flow: Flow;
  reason: string;
  status: string;
  description: string | null;
  resolution_preference: string | null;
  items: { line_item_id: string; title: string; variant_title: string | null; quantity: number }[];
  created_at: string;
  handoff_url?: string | null;
}

export interface Boot {
  slug: string;
  name: string | null;
  default_language: string;
  languages: string[];
  branding?: Branding;
  upload_max_bytes?: number;
}

export interface Upload {
  id: string;
  content_type: string;
  size: number;
}
