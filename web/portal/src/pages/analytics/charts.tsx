import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'react';

// Only what these charts use, so the rest of Chart.js stays out of the bundle.
Chart.register(
  LineController,
  LineElement,
  PointElement,
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  Tooltip,
  Legend,
);
Chart.defaults.font.family =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
Chart.defaults.color = '#30353d';
Chart.defaults.animation = false;

export const COLOURS = { claims: '#1f5fbf', orders: '#b45309', grid: '#e4e7eb' };

/** A Chart.js canvas, rebuilt when its data changes. The numbers are in a table next to it (the canvas is an image). */
function ChartCanvas({
  config,
  label,
  height,
}: {
  config: ChartConfiguration;
  label: string;
  height: number;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const latest = useRef(config);
  latest.current = config;
  // Rebuilt only when the numbers change, not on every render of the page.
  const signature = JSON.stringify(config.data);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the signature stands for the config
  useEffect(() => {
    if (!ref.current) return;
    const chart = new Chart(ref.current, latest.current);
    return () => chart.destroy();
  }, [signature]);
  return (
    <div className="chart-box" style={{ height }}>
      <canvas ref={ref} role="img" aria-label={label} />
    </div>
  );
}

const integerAxis = {
  beginAtZero: true,
  ticks: { precision: 0 },
  grid: { color: COLOURS.grid },
};

export function LineChart({
  labels,
  claims,
  orders,
  label,
}: {
  labels: string[];
  claims: number[];
  orders: number[];
  label: string;
}) {
  const config: ChartConfiguration = {
    type: 'line',
    data: {
      labels,
      datasets: [
        {
          label: 'Claims',
          data: claims,
          borderColor: COLOURS.claims,
          backgroundColor: COLOURS.claims,
          borderWidth: 2,
          pointRadius: labels.length > 60 ? 0 : 2,
          tension: 0.2,
        },
        {
          label: 'Affected orders',
          data: orders,
          borderColor: COLOURS.orders,
          backgroundColor: COLOURS.orders,
          borderWidth: 2,
          borderDash: [6, 4],
          pointRadius: labels.length > 60 ? 0 : 2,
          pointStyle: 'rectRot',
          tension: 0.2,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        y: integerAxis,
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
      },
      plugins: { legend: { position: 'bottom', labels: { usePointStyle: true } } },
    },
  };
  return <ChartCanvas config={config} label={label} height={260} />;
}

let measurer: CanvasRenderingContext2D | null = null;
/** A category label cut to fit `room` pixels ("Customer, by order nu…"); the tooltip keeps the whole of it. */
export function fitLabel(text: string, room: number): string {
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return text;
  const size = Chart.defaults.font.size ?? 12;
  measurer.font = `${size}px ${Chart.defaults.font.family}`;
  const width = (t: string) => measurer?.measureText(t).width ?? 0;
  if (width(text) <= room) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (width(`${text.slice(0, mid).trimEnd()}…`) <= room) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo).trimEnd()}…`;
}

export function BarChart({ labels, values, label }: { labels: string[]; values: number[]; label: string }) {
  const config: ChartConfiguration = {
    type: 'bar',
    data: {
      labels,
      datasets: [
        {
          label: 'Claims',
          data: values,
          backgroundColor: COLOURS.claims,
          borderRadius: 3,
          maxBarThickness: 22,
        },
      ],
    },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: integerAxis,
        y: {
          grid: { display: false },
          ticks: {
            // Chart.js gives the labels at most half the chart's width and cuts the rest off at the edge:
            // a long one ("Customer, by order number + ZIP") is shortened to fit instead.
            callback(value) {
              const text = this.getLabelForValue(Number(value));
              return fitLabel(text, Math.max(40, this.chart.width / 2 - 16));
            },
          },
        },
      },
      plugins: { legend: { display: false } },
    },
  };
  return <ChartCanvas config={config} label={label} height={Math.max(90, labels.length * 26 + 40)} />;
}
