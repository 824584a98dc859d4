/** The controller's HTTP API. */
export { createApi, type Api } from './app.js';
export type { ApiDeps, ApiKeys, ApiSource, ApiReconciler, ApiDesired, DesiredDeployment, EnrollRateLimit } from './deps.js';
export { ApiError, type ErrorBody } from './errors.js';
export { hubSignature, verifyHubSignature } from './webhook.js';
