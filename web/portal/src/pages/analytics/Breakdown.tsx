import { BarChart } from './charts';

export interface Row {
  key: string;
  label: string;
  detail?: string;
  claims: number;
  /** Second column: affected orders, or units for products. */
  /** A second column (affected orders, units); left out when the server gives none. */
  other?: number;
}

const CHART_ROWS = 10;

/** One dimension: bars of the largest values, and every number in a table (the server's order: largest first). */
export function Breakdown({
  id,
  title,
  rows,
  otherLabel = 'Affected orders',
  note,
  total,
}: {
  id: string;
  title: string;
  rows: Row[];
  otherLabel?: string;
  note?: string;
  total: number;
}) {
  const top = rows.slice(0, CHART_ROWS);
  const hasOther = rows.some((r) => r.other !== undefined);
  return (
    <section className="card breakdown" aria-labelledby={`${id}-title`} data-testid={`breakdown-${id}`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {rows.length === 0 ? (
        <p className="muted small">No claims in this range.</p>
      ) : (
        <>
          <BarChart
            labels={top.map((r) => r.label)}
            values={top.map((r) => r.claims)}
            label={`Bar chart: claims by ${title.toLowerCase()}${rows.length > CHART_ROWS ? `, top ${CHART_ROWS}` : ''}. The numbers are in the table below.`}
          />
          <table className="grid-table numbers">
            <caption className="sr-only">Claims by {title.toLowerCase()}</caption>
            <thead>
              <tr>
                <th scope="col">{title}</th>
                <th scope="col" className="num">
                  Claims
                </th>
                <th scope="col" className="num">
                  Share
                </th>
                {hasOther && (
                  <th scope="col" className="num">
                    {otherLabel}
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key}>
                  <th scope="row">
                    {r.label}
                    {r.detail && <span className="muted small block">{r.detail}</span>}
                  </th>
                  <td className="num">{r.claims}</td>
                  <td className="num muted">{total ? `${Math.round((r.claims / total) * 100)}%` : '—'}</td>
                  {hasOther && <td className="num">{r.other}</td>}
                </tr>
              ))}
            </tbody>
          </table>
          {(note || rows.length > CHART_ROWS) && (
            <p className="muted small">
              {rows.length > CHART_ROWS ? `The chart shows the top ${CHART_ROWS}. ` : ''}
              {note}
            </p>
          )}
        </>
      )}
    </section>
  );
}
