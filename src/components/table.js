// A plain, accessible HTML table (caption, header cells with scope). Inputs.table adds row
// checkboxes without labels, which fails axe; reports only need to show rows.
export function dataTable(rows, {columns = rows.length ? Object.keys(rows[0]) : [], caption, format = {}, maxRows = 200} = {}) {
  const table = document.createElement("table");
  if (caption) table.createCaption().textContent = caption;
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = c;
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of rows.slice(0, maxRows)) {
    const tr = body.insertRow();
    for (const c of columns) {
      const v = row[c];
      tr.insertCell().textContent = format[c] ? format[c](v, row) : typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v ?? "";
    }
  }
  return table;
}
