import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { devicesApi } from './devices-api.js';
import { registerPage } from './page-route.js';

const BODY = `<link rel="stylesheet" href="/assets/devices.css">
<p class="muted devices-status"><span id="devices-updated">Loading…</span> <span id="devices-vision"></span></p>
<section class="panel"><h2>Cameras</h2><div id="cameras" class="camera-grid"></div></section>
<section class="panel"><h2>Shelf controllers</h2><div id="shelves"></div></section>
<div class="grid devices-lower">
<section class="panel"><h2>RFID readers</h2><div id="readers"></div></section>
<section class="panel"><h2>Gates</h2><div id="gates"></div></section>
<section class="panel"><h2>Screens</h2><div id="screens"></div></section>
</div>`;

/** `/devices`: every camera, shelf controller, RFID reader, gate and screen, refreshed every few seconds. */
export function devicesPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    registerPage(app, ctx, { path: '/devices', title: 'Devices', role: 'viewer', scripts: ['/assets/devices.js'], body: BODY });
    await devicesApi(app, ctx);
  };
}
