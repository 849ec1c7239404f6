/**
 * Reading `Prefer` (RFC 7240) and `Accept` (RFC 9110 §12.5.1) for the two questions the tool routes ask, by their
 * grammar rather than by searching the text: a preference is a comma-separated item whose first `;` part is
 * `token[=value]` (so in `wait=5; respond-async` respond-async is a parameter of `wait`, not a preference), and a
 * media range with `q=0` means "not acceptable".
 */

/** Whether `Prefer` holds the preference `token` (case-insensitive), e.g. `respond-async`. */
export function hasPreference(header: string | string[] | undefined, token: string): boolean {
  const wanted = token.toLowerCase();
  for (const item of listItems(header)) {
    const name = item.split(';', 1)[0]!.split('=', 1)[0]!.trim().toLowerCase();
    if (name === wanted) return true;
  }
  return false;
}

/**
 * Whether `Accept` names `mediaType` itself (not through `*\/*` or `type/*`) with a quality above 0: the routes stream
 * only for a client that asked for the stream.
 */
export function acceptsExplicitly(header: string | string[] | undefined, mediaType: string): boolean {
  const wanted = mediaType.toLowerCase();
  for (const item of listItems(header)) {
    const [range, ...params] = item.split(';');
    if (range!.trim().toLowerCase() !== wanted) continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

function listItems(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  return (Array.isArray(header) ? header.join(',') : header).split(',').filter((item) => item.trim() !== '');
}
