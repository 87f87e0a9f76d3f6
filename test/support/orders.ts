import type { OrderInputT } from '../../src/orders/document.js';

let seq = 0;

/** A valid order document (SPEC §14 shape) with overridable fields; unique numbers per call. */
export function orderDoc(overrides: Partial<OrderInputT> = {}): OrderInputT {
  seq++;
  const n = `${Date.now() % 1_000_000}${seq}`;
  return {
    external_id: `ext-${n}`,
    order_number: `T${n}`,
    order_name: `#T${n}`,
    placed_at: '2026-11-20T09:30:00Z',
    currency: 'EUR',
    language: 'de',
    tags: ['vip'],
    customer: {
      external_id: null,
      email: 'kim@example.com',
      first_name: 'Kim',
      last_name: 'Berg',
      phone: null,
    },
    shipping_address: {
      name: 'Kim Berg',
      company: null,
      address_line_1: 'Invalidenstr. 1',
      address_line_2: null,
      city: 'Berlin',
      zip_code: '10115',
      province: null,
      country_code: 'DE',
      phone: null,
    },
    billing_address: null,
    totals: { subtotal: 4997, shipping: 495, discount: 0, tax: 798, total: 5492 },
    line_items: [
      {
        external_id: 'li-1',
        sku: 'TEE-M',
        title: 'T-shirt',
        variant_title: 'M',
        quantity: 2,
        unit_price: 1999,
        discount: 0,
        tax: 638,
        image_url: null,
        product_id: 'p1',
        variant_id: 'v1',
      },
      {
        external_id: 'li-2',
        sku: 'MUG',
        title: 'Mug',
        variant_title: null,
        quantity: 1,
        unit_price: 999,
        discount: 0,
        tax: 160,
        image_url: null,
        product_id: 'p2',
        variant_id: 'v2',
      },
    ],
    shipments: [
      {
        external_id: 'f-1',
        carrier: 'dhl',
        tracking_number: '00340434',
        tracking_url: null,
        line_items: [
          { external_id: 'li-1', quantity: 2 },
          { external_id: 'li-2', quantity: 1 },
        ],
        events: [
          {
            time: '2026-11-21T08:00:00Z',
            code: 'picked_up',
            phase: 'in_transit',
            description: 'Parcel picked up',
            location: 'Berlin',
          },
        ],
      },
    ],
    ...overrides,
  };
}
