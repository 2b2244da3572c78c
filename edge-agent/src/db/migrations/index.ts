import type { Migration } from '../migrate.js';
import { agentRuns } from './001-agent-runs.js';
import { configSnapshots } from './002-config-snapshots.js';
import { gateEvents } from './003-gate-events.js';
import { plateCalibrations } from './004-plate-calibrations.js';
import { weightEvents } from './005-weight-events.js';
import { rfidAndAlerts } from './006-rfid-and-alerts.js';
import { analytics } from './007-analytics.js';
import { productGallery } from './008-product-gallery.js';
import { checkout } from './009-checkout.js';
import { syncState } from './010-sync-state.js';
import { signage } from './011-signage.js';
import { adminUsers } from './012-admin-users.js';
import { shelfStock } from './013-shelf-stock.js';
import { outboxIds } from './014-outbox-ids.js';
import { memberExits } from './015-member-exits.js';

/** Every schema step, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = [agentRuns, configSnapshots, gateEvents, plateCalibrations, weightEvents, rfidAndAlerts, analytics, productGallery, checkout, syncState, signage, adminUsers, shelfStock, outboxIds, memberExits];
