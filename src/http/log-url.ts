/** Query parameters whose values are credentials: a signed link's token, a file link's signature. */
const SECRET_PARAMS = /^(token|sig|signature|secret|password|key|api_key|access_token|code)$/i;

/**
 * A request URL as the request log writes it: the values of credential parameters replaced. Logs travel further
 * than the database (log shippers, support tickets); a resolve-link token there would open the customer's order
 * for 30 days, with cancel and address change.
 */
export function loggedUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((p) => {
      const eq = p.indexOf('=');
      const name = eq < 0 ? p : p.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {}
      return eq >= 0 && SECRET_PARAMS.test(decoded) ? `${name}=[redacted]` : p;
    });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}
