import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Random } from '../../edge-agent/src/sim/random.js';
import { lastJsonLine, runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

/**
 * A small AutoCheckout export: one gondola, one shelf, four plates at 60 Hz for 40 s with 1.5 g
 * of noise; a can of soup (410 g) lies across plates 1 and 2 and two are picked at 12 s, a bag of
 * nuts (208 g) is taken from plate 4 at 25 s; a few garbage rows.
 */
function writeExport(dir: string): string {
  const random = new Random(5);
  const t0 = 1_580_000_000;
  const levels = [3200, 2900, 1500, 1800];
  for (let p = 1; p <= 4; p++) {
    const rows: string[] = [];
    for (let n = 0; n < 40 * 60; n++) {
      const t = t0 + n / 60 + random.normal(0, 0.001);
      let g = levels[p - 1]! + random.normal(0, 1.5);
      if (p <= 2 && t - t0 > 12) g -= p === 1 ? 500 : 320;
      if (p <= 2 && t - t0 > 11.2 && t - t0 <= 12.4) g += 150 * Math.sin((t - t0) * 9);
      if (p === 4 && t - t0 > 25) g -= 208;
      if (p === 4 && t - t0 > 24.5 && t - t0 <= 25.8) g += 90 * Math.sin((t - t0) * 7);
      rows.push(`${t.toFixed(3)},${g.toFixed(1)}`);
      if (p === 3 && n === 700) rows.push('not,a-number');
      if (p === 3 && n === 900) rows.push('1580000015.0');
    }
    writeFileSync(join(dir, `gondola_1_shelf_1_plate_${p}.csv`), rows.join('\n') + '\n');
  }
  const catalog = join(dir, 'products.csv');
  writeFileSync(
    catalog,
    ['Name,Gondola,Shelf,Plate,Weight,Price,Image', 'Tomato soup,1,1,1,410,1.99,soup.png', 'Tomato soup,1,1,2,410,1.99,soup.png', 'Salted nuts,1,1,4,208,2.49,', 'Gift card,-1,-1,-1,5,10.00,'].join('\n') + '\n',
  );
  return catalog;
}

describe('edge-agent replay --format autocheckout', () => {
  it('prints each weight event with gondola, shelf, plates, time, change and top candidates', async () => {
    const dir = tempDir();
    const catalog = writeExport(dir);
    const res = await runCli(['replay', dir, '--format', 'autocheckout', '--catalog', catalog, '--data-dir', join(tempDir(), 'data')]);
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const events = lines.filter((l) => l['event'] === 'weight');
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ gondola: 1, shelf: 1, plates: [1, 2], kind: 'pick' });
    expect(events[0]!['candidates'][0]).toMatchObject({ product: 'tomato-soup', count: 2, misplaced: false });
    expect(events[0]!['deltaGrams']).toBeCloseTo(-820, -1);
    expect(Date.parse(events[0]!['time'])).toBeGreaterThan((1_580_000_000 + 10) * 1000);
    expect(events[1]).toMatchObject({ plates: [4], kind: 'pick' });
    expect(events[1]!['candidates'][0]).toMatchObject({ product: 'salted-nuts', count: 1 });
    const summary = lastJsonLine(res.stdout);
    expect(summary).toMatchObject({ ok: true, format: 'autocheckout', weightEvents: 2, autocheckout: { plates: 4, garbageRows: 2 } });
    // Garbage rows are reported with their file and line, and the replay went on.
    expect(res.stderr).toMatch(/gondola_1_shelf_1_plate_3\.csv:702: /);
    expect(res.stderr).toMatch(/gondola_1_shelf_1_plate_3\.csv:903: /);
  });

  it('needs the catalogue', async () => {
    const res = await runCli(['replay', tempDir(), '--format', 'autocheckout']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('needs --catalog FILE');
  });
});
