import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { analyticsApi } from './analytics-api.js';
import { registerPage } from './page-route.js';
import { escapeHtml } from './page-shell.js';

const HOUR_OPTIONS = Array.from({ length: 24 }, (_, h) => {
  const hh = String(h).padStart(2, '0');
  return `<option value="${h}">${hh}:00–${String((h + 1) % 24).padStart(2, '0')}:00</option>`;
}).join('');

/** The page's frame; the script fills it from `/api/analytics/summary` for the range picked. */
function body(ctx: AdminContext): string {
  return `<link rel="stylesheet" href="/assets/analytics.css">
<section class="panel analytics-range" aria-label="Range">
<form id="range" class="range" data-timezone="${escapeHtml(ctx.config.store.timezone)}">
<button type="button" id="prev-day" aria-label="Previous day">◀</button>
<label>Day <input type="date" id="day" name="day" required></label>
<button type="button" id="next-day" aria-label="Next day">▶</button>
<label>Hours <select id="hour" name="hour"><option value="">Whole day</option>${HOUR_OPTIONS}</select></label>
<button type="button" id="today">Today</button>
</form>
<p class="muted" id="range-label" aria-live="polite"></p>
<p class="error" id="analytics-error" role="alert"></p>
</section>
<section class="kpis" id="kpis" aria-label="Totals"></section>
<div class="grid analytics">
<section class="panel"><h2>Heatmap</h2>
<figure class="heatmap"><div class="heatmap-frame"><img id="heatmap" alt="Where shoppers spent time on the floor in this range"><svg id="heatmap-floor" class="heatmap-floor" aria-hidden="true"></svg></div>
<figcaption><span class="heat-legend" aria-hidden="true"></span><span class="muted">less → more time spent</span> <span id="heatmap-note" class="muted"></span></figcaption></figure>
<table id="hotspots-table"><caption class="muted">Hottest spots</caption><thead><tr><th scope="col">Place</th><th scope="col">Where (m)</th><th scope="col">Shopper-seconds</th></tr></thead><tbody></tbody></table>
</section>
<section class="panel"><h2>Dwell per zone</h2><div class="chart-box"><canvas id="dwell-chart" role="img" aria-label="Visits and dwell seconds per zone; the numbers are in the table below"></canvas></div>
<table id="zones-table"><caption class="muted">Zone visits and dwell seconds</caption><thead><tr><th scope="col">Zone</th><th scope="col">Visits</th><th scope="col">Mean s</th><th scope="col">Median s</th><th scope="col">Max s</th><th scope="col">With pick</th></tr></thead><tbody></tbody></table>
</section>
<section class="panel"><h2>Footfall per hour</h2><div class="chart-box"><canvas id="footfall-chart" role="img" aria-label="Gate entries and visits started per hour; the numbers are in the hours table"></canvas></div></section>
<section class="panel"><h2>Conversion per hour</h2><div class="chart-box"><canvas id="conversion-chart" role="img" aria-label="Receipts per visit started, per hour; the numbers are in the hours table"></canvas></div></section>
<section class="panel wide"><h2>Hours</h2>
<table id="hours-table"><caption class="muted">Hours with any activity, on the store's clock</caption><thead><tr><th scope="col">Hour</th><th scope="col">Gate entries</th><th scope="col">Gate exits</th><th scope="col">Visits started</th><th scope="col">Receipts</th><th scope="col">Conversion</th><th scope="col">Peak on floor</th></tr></thead><tbody></tbody></table>
</section>
<section class="panel wide"><h2>Shelf screens</h2><p class="muted">Uplift: picks attributed per card shown by a trigger, over picks per idle card.</p><div id="screens" class="screens"></div></section>
</div>`;
}

/** `/analytics`: heatmap, dwell, footfall, conversion and shelf-screen uplift of a day or an hour. */
export function analyticsPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    registerPage(app, ctx, { path: '/analytics', title: 'Analytics', role: 'viewer', scripts: ['/assets/vendor/chart.umd.js', '/assets/analytics.js'], body: body(ctx) });
    analyticsApi(app, ctx);
  };
}
