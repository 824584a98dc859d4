/** The plan diff: what a manifest change does to which hosts, and its text, markdown and JSON forms. */
export type * from './types.js';
export { diffFleetPlans, diffHost, siteOf, directSite, byText } from './diff-fleet.js';
export { diffAction, summarise, transferBytes } from './diff-action.js';
export { describeWindows } from './describe.js';
export { formatBytes, formatDuration } from '../units/index.js';
export { renderPlansText, renderDiffText, countStatuses } from './render-text.js';
export { renderDiffMarkdown } from './render-markdown.js';
export { renderPlansJson, renderDiffJson, actionJson } from './render-json.js';
