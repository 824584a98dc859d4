export { createDashboardRouter, dashboardAssetsDir, type DashboardOptions } from './router.js';
