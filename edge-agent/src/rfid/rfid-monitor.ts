/**
 * RFID reads in, facts out: which tagged products are on each shelf antenna (a tag that goes is an
 * item lifted: evidence for checkout), and which tags passed the exit gate in which direction,
 * with the billing decision for each. Time moves only with the reads' own timestamps, so a replay
 * reproduces every decision.
 */
import type { StoreConfig } from '../../../device-config/schema.js';
import type { EventBus } from '../bus.js';
import type { StoreDatabase } from '../db/database.js';
import { AlertRepository } from '../db/repositories/alerts.js';
import { GateEventRepository } from '../db/repositories/gate-events.js';
import { TagEventRepository, TagPassageRepository } from '../db/repositories/rfid.js';
import type { TagRead, TagReadSink } from '../devices/rfid/tag-read.js';
import { describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { EpcCatalog } from './epc.js';
import { DEFAULT_EXIT_GATE_SETTINGS, ExitGateTracker, gateAntennas, type GatePassage } from './exit-gate.js';
import type { PassageOutcome, TagObservation, TagPassage } from './rfid-facts.js';
import { TagPresence, type TagPresenceEvent } from './tag-presence.js';

/** A person passing the exit within this long of a tag's crossing is who carried it out. */
const OWNER_WINDOW_MS = 8_000;
/**
 * Reflections let gate antennas read tags far away now and then: a "passage" of one or two reads
 * is not one, and a tag near the gate is only worth a fact once it has stayed a while.
 */
const MIN_PASSAGE_READS = 3;
const MIN_LINGER_READS = 20;

export class RfidMonitor implements Component {
  readonly name = 'rfid-monitor';
  readonly dependsOn = ['database'] as const;
  private readonly catalog: EpcCatalog;
  private readonly presence: TagPresence;
  private readonly gates: ExitGateTracker[];
  /** reader → antenna port → shelf key, for shelf antennas. */
  private readonly shelfAntennas = new Map<string, Map<number, string>>();
  private repos: { tags: TagEventRepository; passages: TagPassageRepository; gates: GateEventRepository; alerts: AlertRepository } | undefined;
  private lastAt = -Infinity;
  private readonly offlineReaders = new Set<string>();
  private readonly counts = { reads: 0, seen: 0, gone: 0, out: 0, in: 0, linger: 0, ignoredPassages: 0, goneWhileOffline: 0, billable: 0, alerts: 0, storeFailures: 0 };

  constructor(
    private readonly config: StoreConfig,
    private readonly database: StoreDatabase,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {
    this.catalog = new EpcCatalog(config.planogram.products);
    this.presence = new TagPresence((e) => this.onPresence(e));
    for (const reader of config.rfid.readers) {
      for (const a of reader.antennas) {
        if (a.role !== 'shelf' || !a.shelf) continue;
        const ports = this.shelfAntennas.get(reader.id) ?? new Map<number, string>();
        ports.set(a.port, a.shelf);
        this.shelfAntennas.set(reader.id, ports);
      }
    }
    const gateIds = [...new Set(config.rfid.readers.flatMap((r) => r.antennas.filter((a) => a.role !== 'shelf' && a.gate).map((a) => a.gate!)))];
    this.gates = gateIds.map((gate) => new ExitGateTracker(gate, gateAntennas(config.rfid.readers, gate), (p) => this.onPassage(p)));
  }

  readonly sink: TagReadSink = (read: TagRead): void => {
    this.counts.reads += 1;
    if (read.at > this.lastAt) this.lastAt = read.at;
    // Every read moves time for every tracker: a tag that went quiet is noticed on the next read anywhere.
    this.presence.advance(read.at);
    for (const g of this.gates) g.advance(read.at);
    if (this.shelfAntennas.get(read.reader)?.has(read.antenna)) this.presence.push(read);
    else for (const g of this.gates) g.push(read);
  };

  async start(): Promise<void> {
    // A reader that drops out makes every tag on it look gone: those are not items lifted.
    this.bus.on('device.availability', this.name, (a) => {
      if (a.kind !== 'rfid') return;
      if (a.online) this.offlineReaders.delete(a.device);
      else this.offlineReaders.add(a.device);
    });
    const db = this.database.handle;
    this.repos = { tags: new TagEventRepository(db), passages: new TagPassageRepository(db), gates: new GateEventRepository(db), alerts: new AlertRepository(db, this.config.store.id) };
  }

  /** Passages still open are decided on what was read, so nothing seen is lost at shutdown. */
  async stop(): Promise<void> {
    this.bus.removeAllOf(this.name);
    if (Number.isFinite(this.lastAt)) {
      const later = this.lastAt + DEFAULT_EXIT_GATE_SETTINGS.passageGapMs + DEFAULT_EXIT_GATE_SETTINGS.maxPassageMs;
      for (const g of this.gates) g.advance(later);
    }
    this.repos = undefined;
  }

  health(): ComponentHealth {
    return {
      status: this.counts.storeFailures > 0 ? 'degraded' : 'up',
      ...(this.counts.storeFailures > 0 ? { detail: `${this.counts.storeFailures} RFID facts could not be stored` } : {}),
      ...this.counts,
      tagsPresent: this.presence.presentCount,
      epc: this.catalog.counters,
    };
  }

  private onPresence(e: TagPresenceEvent): void {
    if (e.kind === 'gone' && this.offlineReaders.has(e.reader)) {
      this.counts.goneWhileOffline += 1;
      return;
    }
    const id = this.catalog.identify(e.epc);
    const observation: TagObservation = {
      reader: e.reader,
      antenna: e.antenna,
      shelf: this.shelfAntennas.get(e.reader)?.get(e.antenna) ?? null,
      epc: e.epc,
      gtin: id.decoded.gtin ?? null,
      serial: id.decoded.serial ?? null,
      product: id.product?.id ?? null,
      kind: e.kind,
      rssi: Number.isFinite(e.rssi) ? e.rssi : null,
      at: e.at,
    };
    if (!this.store(() => this.repos!.tags.record(observation))) return;
    this.counts[e.kind] += 1;
    this.bus.emit('rfid.tag', observation);
  }

  private onPassage(p: GatePassage): void {
    const repos = this.repos;
    if (!repos) return;
    if (p.reads < MIN_PASSAGE_READS || (p.direction === 'linger' && p.reads < MIN_LINGER_READS)) {
      this.counts.ignoredPassages += 1;
      return;
    }
    const id = this.catalog.identify(p.epc);
    const at = Number.isFinite(p.crossedAt) ? p.crossedAt : p.at;
    let outcome: PassageOutcome = p.direction === 'in' ? 'entered' : 'lingered';
    let gateEventId: number | null = null;
    if (p.direction === 'out') {
      const owner = repos.gates
        .between(p.firstAt - OWNER_WINDOW_MS, p.lastAt + OWNER_WINDOW_MS)
        .filter((g) => g.gate === p.gate && g.kind === 'pass' && g.direction === 'out')
        .sort((a, b) => Math.abs(a.at - at) - Math.abs(b.at - at))[0];
      gateEventId = owner?.id ?? null;
      if (!id.product) outcome = 'unknown-product';
      else if (!owner) outcome = 'unowned';
      else if (this.config.rfid.exitPolicy === 'alert') outcome = 'alert-policy';
      else if (repos.passages.wasBilled(p.epc)) outcome = 'already-billed';
      else outcome = 'billable';
    }
    const passage: Omit<TagPassage, 'id'> = {
      gate: p.gate,
      epc: p.epc,
      gtin: id.decoded.gtin ?? null,
      serial: id.decoded.serial ?? null,
      product: id.product?.id ?? null,
      direction: p.direction,
      firstAt: p.firstAt,
      lastAt: p.lastAt,
      at,
      confidence: p.confidence,
      outcome,
      billable: outcome === 'billable',
      gateEventId,
    };
    let stored: TagPassage | undefined;
    if (!this.store(() => (stored = repos.passages.record(passage)))) return;
    this.counts[p.direction] += 1;
    if (passage.billable) this.counts.billable += 1;
    this.bus.emit('rfid.passage', stored!);
    if (outcome === 'unowned' || outcome === 'alert-policy') {
      const kind = outcome === 'unowned' ? 'rfid-exit-unowned' : 'rfid-exit';
      const raised = repos.alerts.raise(kind, p.epc, { gate: p.gate, product: passage.product, serial: passage.serial, at, passage: stored!.id }, at);
      if (raised.created) {
        this.counts.alerts += 1;
        this.bus.emit('alert.raised', raised.alert);
      }
    }
  }

  private store(write: () => unknown): boolean {
    try {
      if (!this.repos) throw new Error('the database is not open');
      write();
      return true;
    } catch (err) {
      this.counts.storeFailures += 1;
      this.log.error({ err: describeError(err) }, 'RFID fact not stored; not announced');
      return false;
    }
  }
}
