/**
 * `edge-agent eval stock`: a simulated day with restocks, misplacements and a drifting plate
 * replayed through the agent (the shoppers' floor positions from the simulator's truth), and the
 * agent's stock held against the simulator's every 10 s of store time: the share of samples each
 * facing is within ±1 unit (products of 20 g or more); each planted out-of-stock and
 * misplacement and how long after the shelf settled it was alerted, and how many alerts it drew;
 * cart lines made of weight put on a shelf during a restock (must be none).
 */
import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { DATABASE_FILE } from '../db/database.js';
import type { Logger } from '../log.js';
import { agentVersion } from '../paths.js';
import { openRecording, RecordingError } from '../recording/recording-reader.js';
import type { ReplaySource } from '../recording/replay-scheduler.js';
import { replay } from '../recording/replay-session.js';
import { readTruth } from '../recording/truth-file.js';
import type { Agent } from '../agent.js';
import { round3 } from '../numbers.js';

export interface StockEvalOptions {
  dataDir?: string;
  seed: number;
  noiseM: number;
  missRate: number;
  /** Store time between samples (default 10 s). */
  sampleMs?: number;
  /** Samples start this long after the day begins (the first settled readings; default 30 s). */
  warmupMs?: number;
}

export interface FaultOutcome {
  kind: string;
  plate: string;
  product?: string;
  at: string;
  /** Seconds from the shelf settling (the truth's time) to the alert; null when never alerted. */
  alertedAfterSeconds: number | null;
  alerts: number;
}

export interface StockEvaluation {
  recording: string;
  samples: number;
  /** Share of (facing, sample) pairs within ±1 unit, products ≥ 20 g. */
  withinOneUnit: number;
  exact: number;
  worstFacings: { plate: string; product: string; withinOneUnit: number }[];
  faults: FaultOutcome[];
  faultsAlertedWithin10s: number;
  restocks: number;
  restockCartLines: number;
  alertsByKind: Record<string, number>;
  wallSeconds: number;
}

/** Delivers a sample of the agent's stock every `every` ms of store time. */
class StockSampler implements ReplaySource {
  readonly name = 'stock-sampler';
  private next: number;
  constructor(
    start: number,
    private readonly end: number,
    private readonly every: number,
    private readonly sample: (at: number) => void,
  ) {
    this.next = start;
  }
  peek(): number | undefined {
    return this.next <= this.end ? this.next : undefined;
  }
  deliver(): void {
    this.sample(this.next);
    this.next += this.every;
  }
}

export async function evaluateStock(dir: string, options: StockEvalOptions, log: Logger): Promise<StockEvaluation> {
  const recording = openRecording(dir);
  const stock = readTruth(recording, 'stock');
  const faults = readTruth(recording, 'stock-faults') ?? [];
  const restocks = readTruth(recording, 'restocks') ?? [];
  if (!stock) throw new RecordingError(`${dir} has no true stock (truth/stock.jsonl) or floor positions; record it with edge-agent sim --profile stock`);
  const products = new Map(recording.config.planogram.products.map((p) => [p.id, p]));
  const start = recording.manifest.startedAt;
  const end = recording.manifest.endedAt ?? start;
  const every = options.sampleMs ?? 10_000;

  // The truth as it stands at a time: units per (plate, own product), stepped forward in order.
  const sorted = [...stock].sort((a, b) => a.at - b.at);
  const truthNow = new Map<string, number>();
  let cursor = 0;
  const per = new Map<string, { n: number; within: number; exact: number; product: string }>();
  let agent: Agent | undefined;
  const alerts: { kind: string; subject: string; at: number; resolvedAt: number }[] = [];
  const sampler = new StockSampler(start + (options.warmupMs ?? 30_000), end, every, (at) => {
    while (cursor < sorted.length && sorted[cursor]!.at <= at) {
      const s = sorted[cursor++]!;
      truthNow.set(`${s.plate}|${s.product}`, s.units);
    }
    for (const f of agent?.stock.book.facings ?? []) {
      const p = products.get(f.product);
      if (!p || p.unitWeight < 20) continue;
      const truth = truthNow.get(`${f.plate}|${f.product}`);
      if (truth === undefined) continue;
      const row = per.get(f.plate) ?? { n: 0, within: 0, exact: 0, product: f.product };
      row.n += 1;
      if (f.settledAt !== null && Math.abs(f.units - truth) <= 1) row.within += 1;
      if (f.settledAt !== null && f.units === truth) row.exact += 1;
      per.set(f.plate, row);
    }
  });
  const summary = await replay({
    dir,
    speed: Infinity,
    log,
    version: agentVersion(),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    onAgent: (a) => {
      agent = a;
      a.bus.on('alert.raised', 'stock-eval', (r) => void alerts.push({ kind: r.kind, subject: r.subject, at: a.now, resolvedAt: Infinity }));
      a.bus.on('alert.resolved', 'stock-eval', (r) => {
        const open = alerts.find((x) => x.kind === r.kind && x.subject === r.subject && x.resolvedAt === Infinity);
        if (open) open.resolvedAt = a.now;
      });
    },
    truthFloor: { seed: options.seed, noiseM: options.noiseM, missRate: options.missRate },
    sources: () => [sampler],
  });

  const planted = faults.filter((f) => f.kind !== 'drift');
  // An alert's subject: the plate, or "plate:product" for a misplaced item (staff go to the plate,
  // so a misplacement alerted under another product's name still counts as alerted).
  const about = (a: { kind: string; subject: string }, f: (typeof planted)[number]) => a.kind === f.kind && (a.subject === f.plate || a.subject.startsWith(`${f.plate}:`));
  const outcomes: FaultOutcome[] = planted
    .map((f) => {
      // The alerts a fault drew: from its time until the same fault is planted there again.
      const next = planted.find((g) => g.at > f.at && g.kind === f.kind && g.plate === f.plate);
      const mine = alerts.filter((a) => about(a, f) && a.at >= f.at - every && (!next || a.at < next.at - every));
      // Staff who already see the plate's alert open (raised as it emptied earlier) are told.
      const open = alerts.find((a) => about(a, f) && a.at < f.at - every && a.resolvedAt > f.at);
      const first = open ? { at: f.at } : mine[0];
      return {
        kind: f.kind,
        plate: f.plate,
        ...(f.product ? { product: f.product } : {}),
        at: new Date(f.at).toISOString(),
        alertedAfterSeconds: first ? round3(Math.max(0, first.at - f.at) / 1000) : null,
        alerts: mine.length,
      };
    });
  const db = new BetterSqlite3(join(summary.dataDir, DATABASE_FILE), { readonly: true });
  let restockCartLines = 0;
  try {
    // Cart lines made of the weight staff put on a shelf: an agent weight event settling within 2 s
    // of a true restock put on the same shelf.
    const puts = (readTruth(recording, 'weight-events') ?? []).filter((w) => w.restock);
    // (Weight put on a shelf can only become a put-back line; a shopper's pick beside the staff is shopping.)
    const lines = db.prepare("SELECT w.shelf AS shelf, w.t_end AS at FROM cart_lines c JOIN weight_events w ON w.id = c.weight_event_id WHERE w.kind = 'return'").all() as { shelf: string; at: number }[];
    restockCartLines = lines.filter((l) => puts.some((p) => p.shelf === l.shelf && Math.abs(l.at - p.tEnd) <= 2_000)).length;
  } finally {
    db.close();
  }
  const rows = [...per.entries()].map(([plate, r]) => ({ plate, product: r.product, withinOneUnit: round3(r.within / r.n), n: r.n, within: r.within, exact: r.exact }));
  const samples = rows.reduce((s, r) => s + r.n, 0);
  const byKind: Record<string, number> = {};
  for (const a of alerts) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  const alerted = outcomes.filter((o) => o.alertedAfterSeconds !== null && o.alertedAfterSeconds <= 10).length;
  return {
    recording: summary.recording,
    samples,
    withinOneUnit: samples === 0 ? 0 : round3(rows.reduce((s, r) => s + r.within, 0) / samples),
    exact: samples === 0 ? 0 : round3(rows.reduce((s, r) => s + r.exact, 0) / samples),
    worstFacings: rows.sort((a, b) => a.withinOneUnit - b.withinOneUnit).slice(0, 5).map(({ plate, product, withinOneUnit }) => ({ plate, product, withinOneUnit })),
    faults: outcomes,
    faultsAlertedWithin10s: outcomes.length === 0 ? 1 : round3(alerted / outcomes.length),
    restocks: restocks.length,
    restockCartLines,
    alertsByKind: byKind,
    wallSeconds: summary.wallSeconds,
  };
}
