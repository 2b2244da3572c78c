/**
 * The agent: builds every component from the store configuration and runs them in dependency
 * order. Follow the imports from here to find any feature:
 *
 *   devices/   adapters: shelf controllers (scale/), gates (gate/), RFID readers (rfid/), cameras (camera/), transports (serial/)
 *   shelf/     calibration, grams, weight events and the products that explain them
 *   rfid/      tags on shelves and through the exit gate, billing outcomes
 *   vision/    motion gate, people detection (onnxruntime worker), tracking, floor coordinates;
 *              products/ recognition: the project's embedder, the gallery, the recogniser
 *   alerts/    operational alerts: a device down, the disk nearly full
 *   analytics/ zones, dwell, lingering, heatmaps and footfall from the shoppers on the floor
 *   signage/   shelf screens: behaviour triggers, "you may like" cards, exposures, the screen pages (SSE)
 *   stock/     units on every facing from the load cells, restocks by staff, stock alerts
 *   checkout/  shopper sessions, who took what (association and fusion), cart ledger, receipts, review queue
 *   ../../sync/ cloud sync: the MQTT topic and command contract, the outbox publisher, hourly
 *              summaries, the commands' handlers, the embedded broker
 *   db/        SQLite connection, migrations, repositories, retention
 *   admin/     the fastify admin app: /healthz, sign-in and roles (auth/), the staff pages and their API (pages/)
 *   config/    loading the store configuration (schema in ../../device-config)
 *   recording/ recordings and replay; sim/ the store simulator
 */
import type { StoreConfig } from '../../device-config/schema.js';
import { AdminServer } from './admin/admin-server.js';
import { adminPages } from './admin/admin-pages.js';
import type { AdminContext } from './admin/admin-context.js';
import { overallStatus, type HealthReport } from './admin/health-report.js';
import { AgentRunRecorder } from './agent-run-recorder.js';
import { EventBus } from './bus.js';
import type { Secrets } from './config/secrets.js';
import { StoreDatabase } from './db/database.js';
import { RetentionJob } from './db/retention.js';
import { LiveClock, type StoreClock } from './clock.js';
import { deviceComponents, type RecordedVideo } from './devices/device-components.js';
import type { TransportContext } from './devices/serial/byte-transport.js';
import { Lifecycle } from './lifecycle.js';
import type { Logger } from './log.js';
import type { ReplayScheduler } from './recording/replay-scheduler.js';
import { CalibrationStore } from './shelf/calibration-store.js';
import { RfidMonitor } from './rfid/rfid-monitor.js';
import { ShelfMonitor } from './shelf/shelf-monitor.js';
import { ShelfReadings } from './shelf/shelf-readings.js';
import { gramsPipeline } from './shelf/shelf-pipeline.js';
import type { ShelfGramsSink } from './shelf/shelf-tick.js';
import { StoreLayout } from './sim/store-layout.js';
import type { CameraCalibration } from '../../calibration/camera-homography.js';
import { VisionService } from './vision/vision-service.js';
import { AnalyticsService } from './analytics/analytics-service.js';
import { CheckoutService } from './checkout/checkout-service.js';
import { OutboxPublisher } from '../../sync/outbox-publisher.js';
import { EmbeddedBroker } from '../../sync/embedded-broker.js';
import { HourlySummaries } from '../../sync/hourly-summaries.js';
import { storeCommands, type ReloadConfig } from '../../sync/store-commands.js';
import { AlertsService } from './alerts/alerts-service.js';
import { SignageService } from './signage/signage-service.js';
import { RestockWindows } from './stock/restock-windows.js';
import { StockService } from './stock/stock-service.js';
import { screenRoutes } from './signage/screen-routes.js';
import { ProductRecognitionService } from './vision/products/product-recognition-service.js';

export interface AgentOptions {
  config: StoreConfig;
  secrets: Secrets;
  log: Logger;
  version: string;
  /** The store clock; live wall time unless replaying. */
  clock?: StoreClock;
  /** What device URLs mean here: `sim://` names of a running simulator, the scheduler of a replay. */
  transports?: Omit<TransportContext, 'clock'>;
  /** When replaying: the scheduler and each camera's recorded video. */
  replay?: { scheduler: ReplayScheduler; video: ReadonlyMap<string, RecordedVideo> };
  /** A calibration file imported for plates that have no calibration yet. */
  calibrationSeed?: string;
  /** 'external': shelf grams arrive through `gramsSink` (an imported export), not from shelf controllers. */
  shelfInput?: 'devices' | 'external';
  /** A simulated store: products without gallery vectors are recognised by their rendered packaging. */
  simulatedProducts?: boolean;
  /** Run cloud sync even in a replay (a crash test's replay publishes to a test broker). */
  syncInReplay?: boolean;
  /** Reloads the configuration (the cloud's `reload-config`, `update-prices`, `update-planogram`); given by `edge-agent run`. */
  reloadConfig?: ReloadConfig;
  /** Camera floor calibrations that replace the configured files (a recording carries its own). */
  cameraCalibrations?: ReadonlyMap<string, CameraCalibration>;
}

export interface DeviceProblem {
  device: string;
  message: string;
  at: number;
}

export class Agent {
  readonly bus: EventBus;
  readonly database: StoreDatabase;
  private readonly lifecycle: Lifecycle;
  private readonly runRecorder: AgentRunRecorder;
  private readonly admin: AdminServer;
  readonly layout: StoreLayout;
  readonly shelfReadings: ShelfReadings;
  /** Every consumer of calibrated shelf grams; shelf controllers feed it through their calibration. */
  readonly gramsSink: ShelfGramsSink;
  readonly problems: DeviceProblem[] = [];
  readonly analytics: AnalyticsService;
  readonly checkout: CheckoutService;
  /** Units on every facing, restocks, stock alerts. */
  readonly stock: StockService;
  /** Shelf screens: triggers, cards, exposures; its SSE channels serve `/screens/<id>`. */
  readonly signage: SignageService;
  /** What the staff pages read and act on (tests build the admin app on it). */
  readonly adminContext: AdminContext;
  /** Product recognition for checkout fusion: `recognize(crop, { candidates })`. */
  readonly recognition: ProductRecognitionService;
  private readonly log: Logger;
  private readonly clock: () => number;
  private stopping: Promise<string[]> | undefined;

  constructor(private readonly options: AgentOptions) {
    const { config, log } = options;
    this.log = log.child({ module: 'agent' });
    const storeClock = options.clock ?? new LiveClock();
    this.clock = () => storeClock.now();
    this.layout = new StoreLayout(config);
    this.bus = new EventBus(log.child({ module: 'bus' }));
    this.database = new StoreDatabase(config.dataDir, log.child({ module: 'db' }));
    this.runRecorder = new AgentRunRecorder(this.database, config, options.version, log.child({ module: 'agent-run' }), this.clock);
    const retention = new RetentionJob(this.database, config.retention, log.child({ module: 'retention' }), undefined, this.clock);
    const calibration = new CalibrationStore(this.database, this.layout, log.child({ module: 'calibration' }), options.calibrationSeed);
    this.shelfReadings = new ShelfReadings(this.layout);
    const shelfMonitor = new ShelfMonitor(this.layout, config, this.database, this.bus, log.child({ module: 'shelf' }));
    const rfidMonitor = new RfidMonitor(config, this.database, this.bus, log.child({ module: 'rfid' }));
    const vision = new VisionService({
      config,
      bus: this.bus,
      log: log.child({ module: 'vision' }),
      clock: this.clock,
      ...(options.cameraCalibrations ? { calibrations: options.cameraCalibrations } : {}),
    });
    this.recognition = new ProductRecognitionService({
      config,
      database: this.database,
      log: log.child({ module: 'recognition' }),
      ...(options.simulatedProducts ? { seedFromSimPackaging: true } : {}),
    });
    this.analytics = new AnalyticsService({ config, database: this.database, bus: this.bus, log: log.child({ module: 'analytics' }) });
    const alerts = new AlertsService({
      config,
      database: this.database,
      bus: this.bus,
      log: log.child({ module: 'alerts' }),
      clock: this.clock,
      freeSpace: () => retention.runOnce(),
      diskCritical: (reason) => this.checkout.refuseNewSessions(reason),
      watchClock: !options.replay,
    });
    const restock = new RestockWindows();
    this.checkout = new CheckoutService({ config, database: this.database, bus: this.bus, log: log.child({ module: 'checkout' }), restock });
    this.stock = new StockService({
      config,
      database: this.database,
      bus: this.bus,
      log: log.child({ module: 'stock' }),
      layout: this.layout,
      restock,
      gramsOn: (plate) => this.shelfReadings.gramsOn(plate),
      shelves: shelfMonitor,
      clock: this.clock,
    });
    const gramsConsumers: ShelfGramsSink[] = [this.shelfReadings.sink, shelfMonitor.sink, this.stock.sink];
    this.gramsSink = (tick) => {
      for (const consumer of gramsConsumers) consumer(tick);
    };
    const devices = deviceComponents({
      config,
      layout: this.layout,
      clock: storeClock,
      bus: this.bus,
      database: this.database,
      log,
      transports: { ...options.transports, ...(options.replay ? { replay: options.replay.scheduler } : {}) },
      ...(options.replay ? { recordedVideo: options.replay.video, replay: options.replay.scheduler } : {}),
      shelfSink: gramsPipeline(() => calibration.table, [this.gramsSink]),
      rfidSink: rfidMonitor.sink,
      shelves: options.shelfInput !== 'external',
      onFrame: vision.onFrame,
      onProblem: (device, message) => {
        this.problems.push({ device, message, at: this.clock() });
        this.log.warn({ device }, message);
      },
    });
    this.signage = new SignageService({
      config,
      database: this.database,
      bus: this.bus,
      log: log.child({ module: 'signage' }),
      clock: this.clock,
      stock: this.stock,
      tokens: options.secrets.screenTokens,
    });
    const signage = this.signage;
    this.adminContext = {
      config,
      database: () => (this.database.isOpen ? this.database : undefined),
      bus: this.bus,
      clock: this.clock,
      log: log.child({ module: 'admin' }),
      health: () => this.health(),
      layout: this.layout,
      analytics: this.analytics,
      checkout: this.checkout,
      shelfReadings: this.shelfReadings,
      calibration,
      vision,
      signage,
      stock: this.stock,
      problems: this.problems,
    };
    this.admin = new AdminServer({
      host: config.admin.host,
      port: config.admin.port,
      log: log.child({ module: 'admin' }),
      health: () => this.health(),
      auth: { config, database: this.adminContext.database, clock: this.clock },
      plugins: [
        async (app) => app.register(screenRoutes, { signage, storeName: config.store.name, lang: config.store.locale, products: config.planogram.products }),
        adminPages(this.adminContext),
      ],
    });
    // Cloud sync: to the configured broker, else to an embedded one on loopback (never in a
    // replay: a recording is not the store).
    const broker = !config.mqtt.url && !options.replay ? new EmbeddedBroker({ port: config.mqtt.embeddedPort, log: log.child({ module: 'broker' }) }) : undefined;
    const sync = options.replay && !options.syncInReplay
      ? []
      : [
          ...(broker ? [broker] : []),
          new HourlySummaries({
            config,
            database: this.database,
            log: log.child({ module: 'summaries' }),
            clock: this.clock,
            ...(config.screens.length > 0 ? { exposures: (from: number, to: number) => signage.hour(from, to) } : {}),
            stock: (from: number, to: number) => this.stock.hour(from, to),
          }),
          new OutboxPublisher({
            config,
            database: this.database,
            bus: this.bus,
            log: log.child({ module: 'sync' }),
            secrets: options.secrets,
            version: options.version,
            clock: this.clock,
            commands: storeCommands({
              config,
              database: this.database,
              bus: this.bus,
              clock: this.clock,
              health: () => this.health(),
              recognition: this.recognition,
              ...(options.reloadConfig ? { reload: options.reloadConfig } : {}),
            }),
            ...(broker ? { url: () => broker.url } : {}),
          }),
        ];
    // Who listens starts before who announces, so it stops after: the shelf and RFID monitors flush
    // the picks and passages still open when they stop, and checkout and stock must hear them.
    this.lifecycle = new Lifecycle([this.database, this.runRecorder, retention, calibration, vision, this.recognition, this.analytics, this.checkout, this.stock, shelfMonitor, rfidMonitor, alerts, this.signage, ...devices, ...sync, this.admin], this.log);
  }

  /** The store clock's time (a replay's recorded time). */
  get now(): number {
    return this.clock();
  }

  get config(): StoreConfig {
    return this.options.config;
  }

  get adminUrl(): string | undefined {
    return this.admin.url;
  }

  get startOrder(): readonly string[] {
    return this.lifecycle.startOrder;
  }

  async start(): Promise<void> {
    await this.lifecycle.start();
    const runId = this.runRecorder.runId!;
    this.bus.emit('agent.started', { runId, storeId: this.config.store.id, at: this.clock() });
    this.log.info({ runId, storeId: this.config.store.id, admin: this.adminUrl, order: this.startOrder }, 'agent started');
  }

  /** Stops everything in reverse order; safe to call more than once (signals can repeat). */
  stop(reason: string): Promise<string[]> {
    this.stopping ??= (async () => {
      this.log.info({ reason }, 'agent stopping');
      this.bus.emit('agent.stopping', { reason, at: this.clock() });
      this.runRecorder.stopReason = reason;
      const failed = await this.lifecycle.stop();
      this.log.info({ failed }, failed.length === 0 ? 'agent stopped cleanly' : 'agent stopped with errors');
      return failed;
    })();
    return this.stopping;
  }

  health(): HealthReport {
    const components = this.lifecycle.report();
    const startedAt = this.runRecorder.startedAt;
    return {
      status: overallStatus(components),
      storeId: this.config.store.id,
      version: this.options.version,
      runId: this.runRecorder.runId ?? null,
      startedAt: startedAt === undefined ? null : new Date(startedAt).toISOString(),
      uptimeSeconds: startedAt === undefined ? 0 : Math.max(0, (this.clock() - startedAt) / 1000),
      previousRunStoppedCleanly: this.runRecorder.previousRunStoppedCleanly,
      busListenerFailures: this.bus.listenerFailures,
      components,
    };
  }
}
