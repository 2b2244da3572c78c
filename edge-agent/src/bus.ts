import { EventEmitter } from 'node:events';
import type { Logger } from './log.js';
import type { DeviceAvailability } from './devices/device-availability.js';
import type { GateEvent } from './devices/gate/gate-event.js';
import type { HealthStatus } from './lifecycle.js';
import type { Alert } from './db/repositories/alerts.js';
import type { ScreenContent } from './db/repositories/screen-content.js';
import type { ScreenTrigger } from './db/repositories/screen-exposures.js';
import type { StockChange } from './stock/stock-book.js';
import type { TagObservation, TagPassage } from './rfid/rfid-facts.js';
import type { WeightEvent } from './shelf/weight-event.js';
import type { CameraTracksUpdate } from './vision/camera-vision.js';
import type { VisionShoppers } from './vision/vision-service.js';
import type { DwellStarted, Lingering, PickCredit, StaffReason, StoreVisit, ZoneVisit } from './analytics/floor-analytics.js';

/**
 * Every event on the bus, by name. A payload type is declared once here (or imported from the
 * module that owns the concept) so emitters and listeners cannot disagree.
 */
export interface BusEvents {
  'agent.started': { runId: number; storeId: string; at: number };
  'agent.stopping': { reason: string; at: number };
  'component.health': { component: string; status: HealthStatus; detail?: string; at: number };
  'device.availability': DeviceAvailability;
  /** Emitted after the event is stored. */
  'gate.event': GateEvent;
  /** Emitted after the event is stored. */
  'shelf.weight-event': WeightEvent;
  /** A button on a shelf controller was pressed (`RESTOCK`: staff toggle restock mode for the shelf). */
  'shelf.button': { shelf: string; button: string; at: number };
  /** A tag seen or gone at a shelf antenna, after it is stored; 'gone' is evidence of an item lifted. */
  'rfid.tag': TagObservation;
  /** A tag passing the exit gate with its billing outcome, after it is stored. */
  'rfid.passage': TagPassage;
  /** A new alert for staff, after it is stored. */
  'alert.raised': Alert;
  /** An alert whose fault went away, after it is stored. */
  'alert.resolved': { id: number; kind: string; subject: string; at: number };
  /** Content for a shelf screen set by the cloud (`null`: cleared), after it is stored. */
  'screen.content': { screen: string; content: ScreenContent | null; expiresAt: number | null; at: number };
  /** One camera's people tracks after a frame (observations, not stored). */
  'vision.camera-tracks': CameraTracksUpdate;
  /** Shoppers on the store floor, merged over the cameras, after a camera's frame (observations, not stored). */
  'vision.shoppers': VisionShoppers;
  /** A shopper's visit to a zone has started (after the enter inertia). */
  'analytics.dwell-started': DwellStarted;
  /** A shopper has stood in a shelf-front zone for a while without a pick: a cue for the screen. */
  'analytics.lingering': Lingering;
  /** A pick from a shelf credited to the shopper standing at it. */
  'analytics.pick': PickCredit;
  /** A zone visit has ended, after it is stored. */
  'analytics.zone-visit': ZoneVisit & { id: number };
  /** A shopper's time on the floor has ended, after it is stored. */
  'analytics.store-visit': StoreVisit & { id: number };
  /** A shopper track turned out to be staff: its analytics are withdrawn. */
  'analytics.staff': { shopper: string; reason: StaffReason; at: number };
  /** A shelf screen changed its cards, after the exposure is stored. */
  'signage.card': { screen: string; exposureId: number; trigger: ScreenTrigger; rule: string | null; shopper: string | null; products: string[]; at: number };
  /** A pick of a product a screen showed, by a shopper at the screen, after it is stored. */
  'signage.attributed': { screen: string; exposureId: number; product: string; shopper: string; at: number };
  /** A facing's stock moved (a sale, a put-back, a restock, a correction by weight), after it is stored. */
  'stock.changed': StockChange;
  /** What checkout decided a weight event was (product, count, whether misplaced), after its cart line is stored. */
  'checkout.line': { weightEvent: number; kind: 'pick' | 'return'; product: string; count: number; misplaced: boolean; at: number };
  /** A receipt was written (with its outbox message), after commit. */
  'checkout.receipt': { receiptId: number; sessionId: number; token: string; total: number; lines: number; reviewLines: number; latencyMs: number; at: number };
}

export type BusEventName = keyof BusEvents;
export type BusListener<K extends BusEventName> = (payload: BusEvents[K]) => void | Promise<void>;

interface Registration {
  event: BusEventName;
  wrapped: (payload: unknown) => void;
}

/**
 * Typed, synchronous event bus. Each listener is registered under an owner (a component name)
 * so a component removes exactly its own listeners on stop, and a throwing or rejecting
 * listener is logged and counted without reaching the emitter or the other listeners.
 */
export class EventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false });
  private readonly byOwner = new Map<string, Registration[]>();
  private failures = 0;

  constructor(private readonly log: Logger) {
    // Many components listen to the same few events; the default warning at 10 is noise here.
    this.emitter.setMaxListeners(0);
  }

  on<K extends BusEventName>(event: K, owner: string, listener: BusListener<K>): () => void {
    const wrapped = (payload: unknown): void => {
      try {
        const result = listener(payload as BusEvents[K]);
        if (result instanceof Promise) result.catch((err: unknown) => this.contain(event, owner, err));
      } catch (err) {
        this.contain(event, owner, err);
      }
    };
    this.emitter.on(event, wrapped);
    const registrations = this.byOwner.get(owner) ?? [];
    registrations.push({ event, wrapped });
    this.byOwner.set(owner, registrations);
    return () => this.remove(owner, event, wrapped);
  }

  emit<K extends BusEventName>(event: K, payload: BusEvents[K]): void {
    this.emitter.emit(event, payload);
  }

  /** Removes every listener the owner registered; components call this from `stop()`. */
  removeAllOf(owner: string): void {
    for (const { event, wrapped } of this.byOwner.get(owner) ?? []) this.emitter.off(event, wrapped);
    this.byOwner.delete(owner);
  }

  listenerCount(event: BusEventName): number {
    return this.emitter.listenerCount(event);
  }

  /** Listener failures contained since start: shown on health so a silent bug is still visible. */
  get listenerFailures(): number {
    return this.failures;
  }

  private remove(owner: string, event: BusEventName, wrapped: (payload: unknown) => void): void {
    this.emitter.off(event, wrapped);
    const remaining = (this.byOwner.get(owner) ?? []).filter((r) => r.wrapped !== wrapped);
    if (remaining.length > 0) this.byOwner.set(owner, remaining);
    else this.byOwner.delete(owner);
  }

  private contain(event: BusEventName, owner: string, err: unknown): void {
    this.failures += 1;
    this.log.error({ err, event, owner }, 'bus listener failed; other listeners unaffected');
  }
}
