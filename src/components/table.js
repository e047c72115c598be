// A plain, accessible HTML table (caption, header cells with scope): the one table helper of the
// pages. Inputs.table adds row checkboxes without labels, which fails axe; pages only need rows.

/**
 * One row per item of `rows`, one column per key of `columns` (default: the first row's keys).
 * - `labels[key]`: the column's header text (default the key);
 * - `format[key](value, row)`: the cell's content, text or DOM nodes (an array for several), e.g.
 *   buttons; numbers default to 4 significant digits, integers as they are;
 * - `rowData(row)`: `data-*` attributes of the row (e.g. `{checkpoint: id}` sets data-checkpoint);
 * - `id`, `caption`, `maxRows` (default 200).
 */
export function dataTable(
  rows,
  {
    columns = rows.length ? Object.keys(rows[0]) : [],
    labels = {},
    caption,
    format = {},
    rowData,
    id,
    maxRows = 200,
  } = {},
) {
  const table = document.createElement("table");
  if (id) table.id = id;
  if (caption) table.createCaption().textContent = caption;
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = labels[c] ?? c;
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of rows.slice(0, maxRows)) {
    const tr = body.insertRow();
    if (rowData) Object.assign(tr.dataset, rowData(row));
    for (const c of columns) {
      const v = row[c];
      const content = format[c]
        ? format[c](v, row)
        : typeof v === "number"
          ? Number.isInteger(v)
            ? String(v)
            : v.toPrecision(4)
          : (v ?? "");
      const cell = tr.insertCell();
      if (typeof content === "object" && content !== null)
        cell.append(...[content].flat().filter((c) => c !== null && c !== undefined && c !== false));
      else cell.textContent = content ?? "";
    }
  }
  return table;
}
