/** Rows as lines of columns aligned on their widest cell, two spaces apart. */
export function alignedRows(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd(),
  );
}

/**
 * A number rounded to `digits` decimals for people to read: the decimal nearest the value itself (`toFixed`), so
 * that 66.095, held as 66.09499…, gives 66.09.
 */
export function round(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}
