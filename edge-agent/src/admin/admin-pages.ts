/**
 * The staff pages and their JSON API, one plugin per page (`pages/`), with the shared assets and
 * the sign-in page. Every route is closed to anonymous users unless it says `public`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from './admin-context.js';
import { assetsRoutes } from './assets-routes.js';
import { analyticsPage } from './pages/analytics-page.js';
import { calibrationPage } from './pages/calibration-page.js';
import { cartsPage } from './pages/carts-page.js';
import { devicesPage } from './pages/devices-page.js';
import { livePage } from './pages/live-page.js';
import { loginPage } from './pages/login-page.js';
import { settingsPage } from './pages/settings-page.js';
import { stockPage } from './pages/stock-page.js';

export function adminPages(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    await app.register(assetsRoutes);
    await app.register(loginPage(ctx));
    await app.register(livePage(ctx));
    await app.register(cartsPage(ctx));
    await app.register(stockPage(ctx));
    await app.register(analyticsPage(ctx));
    await app.register(devicesPage(ctx));
    await app.register(calibrationPage(ctx));
    await app.register(settingsPage(ctx));
  };
}
