/** An order's eligibility per flow, as GET …/orders/{id}/eligibility answers it (the customer page's `flows`). */
export interface FlowEligibility {
  flow: string;
  available: boolean;
  reason_code: string | null;
  reasons: { code: string; label: string }[];
  items: { line_item_id: string; max_quantity: number }[];
  resolutions: string[];
  steps: {
    description: { required: boolean; min_length: number; max_length: number };
    prompts: {
      id: string;
      type: string;
      label: string;
      required: boolean;
      max_length?: number;
      options?: { value: string; label: string }[];
    }[];
    dropoff_permission: boolean;
    photos: { min: number; max: number };
  };
}

/** The flows as the team names them. */
export const FLOW_NAMES: Record<string, string> = {
  defective: 'Damaged or defective',
  not_received: 'Not received',
  missing_item: 'Item missing from the parcel',
  wrong_item: 'Wrong item',
  return: 'Return',
  dissatisfied: 'Not satisfied',
  support: 'Other question',
};

/** Why a flow cannot be chosen (eligibility reason codes, also the key of a 422), in words. */
export const WHY_NOT: Record<string, string> = {
  flow_disabled: 'The shop does not offer this issue (switched off in Settings)',
  order_cancelled: 'The order was cancelled',
  not_fulfilled: 'Nothing of this order has been shipped yet',
  not_delivered: 'The parcel has not been delivered yet',
  outside_claim_window: 'The claim window for this order has passed',
  outside_return_window: 'The return window for this order has passed',
  already_claimed: 'Earlier claims or refunds already cover every unit',
};

export const RESOLUTION_NAMES: Record<string, string> = {
  refund: 'Refund',
  replacement: 'Replacement',
  store_credit: 'Store credit',
};
