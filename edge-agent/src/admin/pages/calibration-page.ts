import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { calibrationApi, WIZARD_TIMING, type WizardTiming } from './calibration-api.js';
import { registerPage } from './page-route.js';

const BODY = `<link rel="stylesheet" href="/assets/calibration.css">
<section class="panel cal-section" id="scale-wizard" hidden>
<h2>Load-cell calibration</h2>
<p class="muted">Tare the empty plate, then span it with a reference mass. The shelf uses the new calibration as soon as it is saved.</p>
<div class="cal-row"><label for="wizard-plate">Plate</label><select id="wizard-plate"></select><span id="wizard-live" class="cal-live muted"></span></div>
<div id="wizard-steps"></div>
</section>
<section class="panel cal-section" id="camera-pairs" hidden>
<h2>Camera floor calibration</h2>
<p class="muted">Mark at least 4 floor points (8 or more, spread over the floor, catch a bad mark): the pixel u,v where each appears in the camera image and its x,y on the floor plan in metres.</p>
<div class="cal-row"><label for="camera-select">Camera</label><select id="camera-select"></select><span id="camera-state" class="muted"></span></div>
<div id="camera-editor"></div>
</section>
<section class="panel cal-section" id="planogram">
<h2>Planogram</h2>
<div id="planogram-view" class="planogram"><p class="muted">Loading…</p></div>
</section>`;

/** `/calibration`: the load-cell wizard (staff), camera point pairs (admin) and the planogram (everyone). */
export function calibrationPage(ctx: AdminContext, timing: WizardTiming = WIZARD_TIMING): FastifyPluginAsync {
  return async (app) => {
    await calibrationApi(app, ctx, timing);
    registerPage(app, ctx, { path: '/calibration', title: 'Calibration', role: 'viewer', scripts: ['/assets/calibration.js'], body: BODY });
  };
}
