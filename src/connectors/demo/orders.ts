import type { OrderInputT } from '../../orders/document.js';

const DAY = 86_400_000;

/**
 * The demo shop's orders (SPEC §14). Dates are relative to `now`, so each order keeps its state:
 * 1001 delivered 2 days ago, 1002 in transit, 1003 unfulfilled, 1004 stuck, 1005 split, 1006 old.
 */
export function demoOrders(now: Date): OrderInputT[] {
  const at = (daysAgo: number, hour = 0) =>
    new Date(now.getTime() - daysAgo * DAY + hour * 3_600_000).toISOString();
  const de = (name: string, line1: string, city: string, zip: string) => ({
    name,
    company: null,
    address_line_1: line1,
    address_line_2: null,
    city,
    zip_code: zip,
    province: null,
    country_code: 'DE',
    phone: null,
  });
  const customer = (email: string, first: string, last: string) => ({
    external_id: null,
    email,
    first_name: first,
    last_name: last,
    phone: null,
  });
  const line = (
    id: string,
    sku: string,
    title: string,
    variant: string | null,
    quantity: number,
    price: number,
  ) => ({
    external_id: id,
    sku,
    title,
    variant_title: variant,
    quantity,
    unit_price: price,
    discount: 0,
    tax: Math.round((price * quantity * 19) / 119),
    image_url: null,
    product_id: `p-${sku.split('-')[0].toLowerCase()}`,
    variant_id: `v-${sku.toLowerCase()}`,
  });
  const totals = (lines: { unit_price: number; quantity: number; tax?: number }[], shipping = 495) => {
    const subtotal = lines.reduce((n, l) => n + l.unit_price * l.quantity, 0);
    return {
      subtotal,
      shipping,
      discount: 0,
      tax: lines.reduce((n, l) => n + (l.tax ?? 0), 0),
      total: subtotal + shipping,
    };
  };
  const ev = (daysAgo: number, code: string, phase: string, description: string, location: string) => ({
    time: at(daysAgo),
    code,
    phase: phase as 'in_transit',
    description,
    location,
  });
  const delivered = (d: number, city: string) => [
    ev(d + 3, 'label_created', 'order_processed', 'Shipping label created', 'Hamburg'),
    ev(d + 2, 'picked_up', 'in_transit', 'Parcel picked up by the carrier', 'Hamburg'),
    ev(d + 1, 'hub_scan', 'in_transit', 'Parcel sorted at the hub', 'Hannover'),
    ev(d + 0.3, 'out_for_delivery', 'in_delivery', 'Out for delivery', city),
    ev(d, 'delivered', 'delivered', 'Delivered', city),
  ];

  const l1001 = [
    line('1001-1', 'TEE-BLK-M', 'Organic cotton T-shirt', 'Black / M', 2, 2499),
    line('1001-2', 'MUG-CER', 'Ceramic mug', 'Sand', 1, 1499),
    line('1001-3', 'SOCK-3P', 'Merino socks (3 pairs)', '39–42', 1, 1999),
  ];
  const l1002 = [
    line('1002-1', 'HOOD-GRY-L', 'Hoodie', 'Grey / L', 1, 5999),
    line('1002-2', 'CAP-NVY', 'Cap', 'Navy', 1, 1999),
  ];
  const l1003 = [line('1003-1', 'JACK-RAIN-S', 'Rain jacket', 'Olive / S', 1, 8999)];
  const l1004 = [
    line('1004-1', 'BOTL-750', 'Insulated bottle', '750 ml', 1, 2999),
    line('1004-2', 'TOTE-NAT', 'Canvas tote', 'Natural', 1, 1499),
  ];
  const l1005 = [
    line('1005-1', 'LAMP-DSK', 'Desk lamp', 'Brass', 1, 7900),
    line('1005-2', 'BULB-E27', 'LED bulb', 'E27 warm', 2, 690),
  ];
  const l1006 = [line('1006-1', 'SCARF-WOOL', 'Wool scarf', 'Rust', 1, 3999)];

  return [
    {
      external_id: 'demo-1001',
      order_number: '1001',
      order_name: '#1001',
      placed_at: at(6),
      currency: 'EUR',
      language: 'de',
      tags: ['vip'],
      customer: customer('kim.berg@example.com', 'Kim', 'Berg'),
      shipping_address: de('Kim Berg', 'Invalidenstraße 1', 'Berlin', '10115'),
      billing_address: null,
      totals: totals(l1001),
      line_items: l1001,
      shipments: [
        {
          external_id: 'demo-1001-f1',
          carrier: 'dhl',
          tracking_number: '00340434161094001001',
          tracking_url: null,
          line_items: [
            { external_id: '1001-1', quantity: 2 },
            { external_id: '1001-2', quantity: 1 },
            { external_id: '1001-3', quantity: 1 },
          ],
          events: delivered(2, 'Berlin'),
        },
      ],
    },
    {
      external_id: 'demo-1002',
      order_number: '1002',
      order_name: '#1002',
      placed_at: at(4),
      currency: 'EUR',
      language: 'de',
      tags: [],
      customer: customer('lena.huber@example.com', 'Lena', 'Huber'),
      shipping_address: de('Lena Huber', 'Marienplatz 8', 'München', '80331'),
      billing_address: null,
      totals: totals(l1002),
      line_items: l1002,
      shipments: [
        {
          external_id: 'demo-1002-f1',
          carrier: 'dhl',
          tracking_number: '00340434161094001002',
          tracking_url: null,
          line_items: [
            { external_id: '1002-1', quantity: 1 },
            { external_id: '1002-2', quantity: 1 },
          ],
          events: [
            ev(3, 'label_created', 'order_processed', 'Shipping label created', 'Hamburg'),
            ev(2, 'picked_up', 'in_transit', 'Parcel picked up by the carrier', 'Hamburg'),
            ev(1, 'hub_scan', 'in_transit', 'Parcel sorted at the hub', 'Nürnberg'),
          ],
        },
      ],
    },
    {
      external_id: 'demo-1003',
      order_number: '1003',
      order_name: '#1003',
      placed_at: at(0.5),
      currency: 'EUR',
      language: 'de',
      tags: [],
      customer: customer('jonas.meyer@example.com', 'Jonas', 'Meyer'),
      shipping_address: de('Jonas Meyer', 'Mönckebergstraße 7', 'Hamburg', '20095'),
      billing_address: null,
      totals: totals(l1003),
      line_items: l1003,
      shipments: [],
    },
    {
      external_id: 'demo-1004',
      order_number: '1004',
      order_name: '#1004',
      placed_at: at(14),
      currency: 'EUR',
      language: 'de',
      tags: [],
      customer: customer('sara.koch@example.com', 'Sara', 'Koch'),
      shipping_address: de('Sara Koch', 'Hohe Straße 100', 'Köln', '50667'),
      billing_address: null,
      totals: totals(l1004),
      line_items: l1004,
      shipments: [
        {
          external_id: 'demo-1004-f1',
          carrier: 'hermes',
          tracking_number: 'H1004000000000001004',
          tracking_url: null,
          line_items: [
            { external_id: '1004-1', quantity: 1 },
            { external_id: '1004-2', quantity: 1 },
          ],
          events: [
            ev(12, 'label_created', 'order_processed', 'Shipping label created', 'Hamburg'),
            ev(11, 'picked_up', 'in_transit', 'Parcel picked up by the carrier', 'Hamburg'),
            ev(9, 'hub_scan', 'in_transit', 'Parcel sorted at the hub', 'Dortmund'),
          ],
        },
      ],
    },
    {
      external_id: 'demo-1005',
      order_number: '1005',
      order_name: '#1005',
      placed_at: at(5),
      currency: 'GBP',
      language: 'en',
      tags: [],
      customer: customer('oliver.smith@example.co.uk', 'Oliver', 'Smith'),
      shipping_address: {
        name: 'Oliver Smith',
        company: null,
        address_line_1: '10 Downing Street',
        address_line_2: null,
        city: 'London',
        zip_code: 'SW1A 1AA',
        province: null,
        country_code: 'GB',
        phone: null,
      },
      billing_address: null,
      totals: totals(l1005, 599),
      line_items: l1005,
      shipments: [
        {
          external_id: 'demo-1005-f1',
          carrier: 'royal_mail',
          tracking_number: 'RM100500001GB',
          tracking_url: null,
          line_items: [{ external_id: '1005-1', quantity: 1 }],
          events: delivered(1, 'London'),
        },
        {
          external_id: 'demo-1005-f2',
          carrier: 'dpd',
          tracking_number: '15501005000002',
          tracking_url: null,
          line_items: [{ external_id: '1005-2', quantity: 2 }],
          events: [
            ev(2, 'label_created', 'order_processed', 'Shipping label created', 'Birmingham'),
            ev(1, 'picked_up', 'in_transit', 'Parcel picked up by the carrier', 'Birmingham'),
          ],
        },
      ],
    },
    {
      external_id: 'demo-1006',
      order_number: '1006',
      order_name: '#1006',
      placed_at: at(65),
      currency: 'EUR',
      language: 'de',
      tags: [],
      customer: customer('kim.berg@example.com', 'Kim', 'Berg'),
      shipping_address: de('Kim Berg', 'Invalidenstraße 1', 'Berlin', '10115'),
      billing_address: null,
      totals: totals(l1006),
      line_items: l1006,
      shipments: [
        {
          external_id: 'demo-1006-f1',
          carrier: 'dhl',
          tracking_number: '00340434161094001006',
          tracking_url: null,
          line_items: [{ external_id: '1006-1', quantity: 1 }],
          events: delivered(60, 'Berlin'),
        },
      ],
    },
  ];
}
