import type { OrderInputT } from '../src/orders/document.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const BASE = Date.parse('2026-11-28T12:00:00Z');

const FIRST = ['Kim', 'Lena', 'Jonas', 'Aylin', 'Mateo', 'Sofia', 'Noah', 'Mia', 'Elias', 'Hannah', 'Luca'];
const LAST = ['Berg', 'Huber', 'Schmidt', 'Yilmaz', 'García', 'Rossi', 'Becker', 'Wagner', 'Novak', 'Keller'];
const PLACES: [string, string, string, string][] = [
  ['Berlin', '10115', 'DE', 'Invalidenstraße'],
  ['München', '80331', 'DE', 'Marienplatz'],
  ['Hamburg', '20095', 'DE', 'Mönckebergstraße'],
  ['Köln', '50667', 'DE', 'Hohe Straße'],
  ['London', 'SW1A 1AA', 'GB', 'Whitehall'],
  ['Wien', '1010', 'AT', 'Graben'],
  ['Zürich', '8001', 'CH', 'Bahnhofstrasse'],
];
const PRODUCTS: [string, string, string, number][] = [
  ['TEE-BLK', 'Organic cotton T-shirt', 'Black / M', 2499],
  ['MUG-CER', 'Ceramic mug', 'Sand', 1499],
  ['SOCK-3P', 'Merino socks (3 pairs)', '39–42', 1999],
  ['HOOD-GRY', 'Hoodie', 'Grey / L', 5999],
  ['CAP-NVY', 'Cap', 'Navy', 1999],
  ['JACK-RAIN', 'Rain jacket', 'Olive / S', 8999],
  ['BOTL-750', 'Insulated bottle', '750 ml', 2999],
  ['TOTE-NAT', 'Canvas tote', 'Natural', 1499],
  ['LAMP-DSK', 'Desk lamp', 'Brass', 7900],
];

/**
 * Order number `i` of a benchmark run: the SPEC §14 document shape with 3 line items, 1 shipment carrying all
 * of them and 3 carrier events. Deterministic, and unique by `i` (order number, external id).
 */
export function benchOrder(i: number): OrderInputT {
  const first = FIRST[i % FIRST.length];
  const last = LAST[(i * 7) % LAST.length];
  const [city, zip, country, street] = PLACES[i % PLACES.length];
  const placed = BASE - (i % 60) * DAY - (i % 24) * HOUR;
  const at = (hours: number) => new Date(placed + hours * HOUR).toISOString();
  const lines = [0, 1, 2].map((k) => {
    const [sku, title, variant, price] = PRODUCTS[(i + k * 4) % PRODUCTS.length];
    const quantity = k === 0 && i % 3 === 0 ? 2 : 1;
    return {
      external_id: `${i}-${k + 1}`,
      sku,
      title,
      variant_title: variant,
      quantity,
      unit_price: price,
      discount: 0,
      tax: Math.round((price * quantity * 19) / 119),
      image_url: null,
      product_id: `p-${sku.toLowerCase()}`,
      variant_id: `v-${sku.toLowerCase()}-${k}`,
    };
  });
  const subtotal = lines.reduce((n, l) => n + l.unit_price * l.quantity, 0);
  const delivered = i % 2 === 0;
  return {
    external_id: `gid-${i}`,
    order_number: `B${100000 + i}`,
    order_name: `#B${100000 + i}`,
    placed_at: at(0),
    currency: 'EUR',
    language: 'de',
    tags: i % 5 === 0 ? ['vip'] : [],
    customer: {
      external_id: `cust-${i % 9973}`,
      email: `${first.toLowerCase()}.${i}@example.com`,
      first_name: first,
      last_name: last,
      phone: null,
    },
    shipping_address: {
      name: `${first} ${last}`,
      company: null,
      address_line_1: `${street} ${1 + (i % 120)}`,
      address_line_2: null,
      city,
      zip_code: zip,
      province: null,
      country_code: country,
      phone: null,
    },
    billing_address: null,
    totals: {
      subtotal,
      shipping: 495,
      discount: 0,
      tax: lines.reduce((n, l) => n + l.tax, 0),
      total: subtotal + 495,
    },
    line_items: lines,
    shipments: [
      {
        external_id: `f-${i}`,
        carrier: 'dhl',
        tracking_number: `0034043416${String(i).padStart(10, '0')}`,
        tracking_url: null,
        line_items: lines.map((l) => ({ external_id: l.external_id, quantity: l.quantity })),
        events: [
          {
            time: at(20),
            code: 'label_created',
            phase: 'order_processed',
            description: 'Shipping label created',
            location: 'Hamburg',
          },
          {
            time: at(30),
            code: 'picked_up',
            phase: 'in_transit',
            description: 'Parcel picked up by the carrier',
            location: 'Hamburg',
          },
          delivered
            ? {
                time: at(50),
                code: 'delivered',
                phase: 'delivered',
                description: 'Delivered',
                location: city,
              }
            : {
                time: at(44),
                code: 'hub_scan',
                phase: 'in_transit',
                description: 'Parcel sorted at the hub',
                location: 'Hannover',
              },
        ],
      },
    ],
  };
}
