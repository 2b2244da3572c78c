/** The floor cut into square cells for heatmaps: cell = row * cols + col, rows grow with y. */
export class FloorGrid {
  readonly cols: number;
  readonly rows: number;

  constructor(
    readonly widthM: number,
    readonly depthM: number,
    readonly cellM: number,
  ) {
    this.cols = Math.max(1, Math.ceil(widthM / cellM - 1e-9));
    this.rows = Math.max(1, Math.ceil(depthM / cellM - 1e-9));
  }

  get cells(): number {
    return this.cols * this.rows;
  }

  /** Positions a little off the plan (tracking noise at a wall) count in the edge cell. */
  cellAt(x: number, y: number): number {
    let col = Math.floor(x / this.cellM);
    let row = Math.floor(y / this.cellM);
    if (col < 0) col = 0;
    else if (col >= this.cols) col = this.cols - 1;
    if (row < 0) row = 0;
    else if (row >= this.rows) row = this.rows - 1;
    return row * this.cols + col;
  }

  /** Centre of a cell, metres. */
  centre(cell: number): { x: number; y: number } {
    return { x: ((cell % this.cols) + 0.5) * this.cellM, y: (Math.floor(cell / this.cols) + 0.5) * this.cellM };
  }
}
