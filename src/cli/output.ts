/** `--output table` (people, the default) or `--output json` (scripts: the API's JSON as it came). */
export type OutputFormat = 'table' | 'json';

export type Cell = string | number | boolean | null | undefined;

export interface Output {
  format: OutputFormat;
  /** Writes a line to stdout. */
  line: (text?: string) => void;
  /** `--output json`: the value; otherwise the table of `rows` with `columns` as headers. */
  table: <T>(value: unknown, rows: readonly T[], columns: Record<string, (row: T) => Cell>) => void;
  /** `--output json`: the value; otherwise `label: value` lines. */
  fields: (value: unknown, fields: Record<string, Cell>) => void;
  /** `--output json`: the value; otherwise the message. */
  done: (value: unknown, message: string) => void;
}

export function createOutput(
  format: OutputFormat,
  write: (text: string) => void = (t) => process.stdout.write(t),
): Output {
  const line = (text = '') => write(`${text}\n`);
  const json = (value: unknown) => line(JSON.stringify(value, null, 2));
  return {
    format,
    line,
    table(value, rows, columns) {
      if (format === 'json') return json(value);
      for (const text of renderTable(rows, columns)) line(text);
    },
    fields(value, fields) {
      if (format === 'json') return json(value);
      const width = Math.max(...Object.keys(fields).map((label) => label.length));
      for (const [label, cell] of Object.entries(fields)) line(`${`${label}:`.padEnd(width + 2)}${text(cell)}`);
    },
    done(value, message) {
      if (format === 'json') return json(value);
      line(message);
    },
  };
}

/** Left-aligned columns two spaces apart, headers in capitals; `(none)` when there is no row. */
export function renderTable<T>(rows: readonly T[], columns: Record<string, (row: T) => Cell>): string[] {
  const headers = Object.keys(columns);
  if (rows.length === 0) return ['(none)'];
  const cells = rows.map((row) => Object.values(columns).map((column) => text(column(row))));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => row[i]!.length)));
  const render = (values: string[]) =>
    values
      .map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [render(headers.map((header) => header.toUpperCase())), ...cells.map(render)];
}

function text(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  return String(cell).replace(/\s+/g, ' ');
}
