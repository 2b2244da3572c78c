import type { StoreConfig } from '../../../device-config/schema.js';
import type { AnalyticsService } from '../analytics/analytics-service.js';
import type { EventBus } from '../bus.js';
import type { CheckoutService } from '../checkout/checkout-service.js';
import type { StoreDatabase } from '../db/database.js';
import type { Logger } from '../log.js';
import type { CalibrationStore } from '../shelf/calibration-store.js';
import type { ShelfReadings } from '../shelf/shelf-readings.js';
import type { SignageService } from '../signage/signage-service.js';
import type { StockService } from '../stock/stock-service.js';
import type { StoreLayout } from '../sim/store-layout.js';
import type { VisionService } from '../vision/vision-service.js';
import type { HealthReport } from './health-report.js';

/** What the staff pages read and act on: the running agent's parts, never copies of them. */
export interface AdminContext {
  config: StoreConfig;
  /** The store database while it is open. */
  database: () => StoreDatabase | undefined;
  bus: EventBus;
  clock: () => number;
  log: Logger;
  health: () => HealthReport;
  layout: StoreLayout;
  analytics: AnalyticsService;
  checkout: CheckoutService;
  shelfReadings: ShelfReadings;
  calibration: CalibrationStore;
  vision: VisionService;
  signage: SignageService;
  stock: StockService;
  /** Device problems reported while building the agent (a camera that could not be set up). */
  problems: readonly { device: string; message: string; at: number }[];
}
