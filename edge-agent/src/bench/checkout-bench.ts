/**
 * `edge-agent bench checkout`: exit → receipt latency end to end. A busy simulated store (scales,
 * gates and RFID from the recording, the shoppers' floor positions from the simulator's truth)
 * is replayed through the whole agent as fast as it keeps up; each receipt's latency is the time
 * from the exit pass to the committed receipt, as the checkout reports it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateReceipts } from '../checkout/receipts-eval.js';
import { loadConfigFile } from '../config/load-config.js';
import { silentLogger } from '../log.js';
import { DEMO_CONFIG } from '../paths.js';
import { recordSimulation } from '../sim/record-simulation.js';
import { resolveScenario } from '../sim/scenario.js';

export interface CheckoutBenchResult {
  shoppers: number;
  simulatedMinutes: number;
  receipts: number;
  receiptLatencyMs: { p50: number; p95: number } | null;
  billedUnitsF1: number;
  replayWallSeconds: number;
}

export async function benchCheckout(): Promise<CheckoutBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-checkout-'));
  try {
    const { config } = await loadConfigFile(DEMO_CONFIG());
    const scenario = resolveScenario({ seed: 3, minutes: 20, shoppers: 40, profile: 'busy' });
    await recordSimulation({ config: { ...config, dataDir: join(dir, 'data') }, scenario, out: join(dir, 'recording'), video: false, createdBy: 'bench checkout' });
    const e = await evaluateReceipts(join(dir, 'recording'), { noiseM: 0.1, missRate: 0.05, seed: 1, dataDir: join(dir, 'replay') }, silentLogger());
    return {
      shoppers: scenario.shoppers,
      simulatedMinutes: scenario.minutes,
      receipts: e.receipts,
      receiptLatencyMs: e.receiptLatencyMs,
      billedUnitsF1: e.micro.f1,
      replayWallSeconds: e.wallSeconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
