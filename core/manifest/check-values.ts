/**
 * Values a pattern cannot judge: cron expressions, IANA time zones, calendar-valid times, semver
 * ranges, rollout waves, and what a deployment asks of its packages.
 */
import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone } from 'luxon';
import { entriesOf, type CheckContext } from './check-context.js';
import { compileRange } from '../versions/index.js';
import { closest } from './suggest.js';
import type { Quantity } from './types.js';
import { formatQuantity } from './units.js';

/** Reports bad cron expressions, zones, times, ranges and waves. */
export function checkValues(ctx: CheckContext): void {
  checkSchedules(ctx);
  checkConditions(ctx);
  checkDeployments(ctx);
}

function checkSchedules(ctx: CheckContext): void {
  for (const e of entriesOf(ctx, 'Schedule')) {
    const tz = e.resource.spec.timezone;
    const zoneOk = tz === 'host' || isZone(tz);
    if (!zoneOk) {
      const guess = closest(tz, zoneNames());
      const hint = guess !== undefined ? ` (did you mean "${guess}"?)` : ' (use e.g. Asia/Tokyo, Europe/Paris, UTC, or host)';
      ctx.report(e, ['spec', 'timezone'], 'error', `spec.timezone: "${tz}" is not an IANA time zone${hint}`);
    }
    const zone = zoneOk && tz !== 'host' ? tz : 'UTC';
    e.resource.spec.windows.forEach((w, i) => {
      if ('cron' in w) {
        const why = cronError(w.cron, zone);
        if (why !== undefined) {
          ctx.report(
            e,
            ['spec', 'windows', i, 'cron'],
            'error',
            `spec.windows[${i}].cron: "${w.cron}" is not a valid cron expression (${why}); use minute hour day-of-month month day-of-week, e.g. "0 22 * * 1-5"`,
          );
        }
      } else {
        const why = timeError(w.start, zone);
        if (why !== undefined) ctx.report(e, ['spec', 'windows', i, 'start'], 'error', `spec.windows[${i}].start: "${w.start}" is not a valid time (${why})`);
      }
    });
  }
}

function checkConditions(ctx: CheckContext): void {
  for (const e of entriesOf(ctx, 'Condition')) {
    const sw = e.resource.spec.software;
    if (sw === undefined) continue;
    for (const list of ['present', 'absent'] as const) {
      sw[list].forEach((r, i) => {
        if (r.version === undefined || compileRange(r.version) !== undefined) return;
        ctx.report(
          e,
          ['spec', 'software', list, i, 'version'],
          'error',
          `spec.software.${list}[${i}].version: "${r.version}" is not a version range (use e.g. ">=3.8", "^2.0.0", "1.2.x", ">=1:2.30")`,
        );
      });
    }
  }
}

function checkDeployments(ctx: CheckContext): void {
  const packages = new Map<string, boolean>();
  for (const p of entriesOf(ctx, 'Package')) packages.set(`${p.resource.metadata.name}@${p.resource.spec.version}`, p.resource.spec.uninstall !== undefined);

  for (const e of entriesOf(ctx, 'Deployment')) {
    const spec = e.resource.spec;
    const firstIndex = new Map<string, number>();
    spec.packages.forEach((p, i) => {
      const first = firstIndex.get(p.name);
      if (first !== undefined) {
        ctx.report(
          e,
          ['spec', 'packages', i, 'name'],
          'error',
          `spec.packages[${i}]: ${p.name} is already listed at spec.packages[${first}]; list each package once per deployment`,
        );
        return;
      }
      firstIndex.set(p.name, i);
      const uninstallable = packages.get(`${p.name}@${p.version}`);
      if (uninstallable === false && p.state === 'absent') {
        ctx.report(
          e,
          ['spec', 'packages', i, 'state'],
          'error',
          `spec.packages[${i}].state: ${p.name} ${p.version} has no uninstall command, so it cannot be made absent; add spec.uninstall to its Package`,
        );
      } else if (uninstallable === false && spec.onLeave === 'uninstall') {
        ctx.report(e, ['spec', 'onLeave'], 'warning', `spec.onLeave: ${p.name} ${p.version} has no uninstall command, so hosts that leave keep it`);
      }
    });
    if (spec.targets.groups.length === 0 && spec.targets.hosts.length === 0) {
      ctx.report(e, ['spec', 'targets'], 'warning', 'spec.targets: lists no groups and no hosts, so the deployment reaches no host');
    }
    if (spec.distribute.notBefore !== undefined) {
      const why = timeError(spec.distribute.notBefore, 'UTC');
      if (why !== undefined) ctx.report(e, ['spec', 'distribute', 'notBefore'], 'error', `spec.distribute.notBefore: "${spec.distribute.notBefore}" is not a valid time (${why})`);
    }
    const rollout = spec.rollout;
    if (rollout === undefined) continue;
    let lastPercent: Quantity | undefined;
    let lastCount: Quantity | undefined;
    rollout.waves.forEach((w, i) => {
      const path = ['spec', 'rollout', 'waves', i];
      const at = `spec.rollout.waves[${i}]`;
      if ('percent' in w) {
        if (w.percent === 0 || w.percent > 100) return ctx.report(e, path, 'error', `${at}: "${formatQuantity(w)}" must be more than 0% and at most 100%`);
        if (lastPercent !== undefined && 'percent' in lastPercent && w.percent <= lastPercent.percent) {
          ctx.report(
            e,
            path,
            'error',
            `${at}: "${formatQuantity(w)}" is not larger than the wave before it ("${formatQuantity(lastPercent)}"); waves are cumulative and must grow`,
          );
        }
        lastPercent = w;
      } else {
        if (w.count === 0) return ctx.report(e, path, 'error', `${at}: a wave of 0 hosts never finishes; use at least 1`);
        if (lastCount !== undefined && 'count' in lastCount && w.count <= lastCount.count) {
          ctx.report(e, path, 'error', `${at}: ${w.count} is not larger than the wave before it (${lastCount.count}); waves are cumulative and must grow`);
        }
        lastCount = w;
      }
    });
    const mf = rollout.maxFailures;
    if (mf !== undefined && 'percent' in mf && mf.percent > 100) {
      ctx.report(e, ['spec', 'rollout', 'maxFailures'], 'error', `spec.rollout.maxFailures: "${formatQuantity(mf)}" is more than 100%`);
    }
  }
}

const validZones = new Map<string, boolean>();

function isZone(zone: string): boolean {
  let ok = validZones.get(zone);
  if (ok === undefined) validZones.set(zone, (ok = IANAZone.isValidZone(zone)));
  return ok;
}

/** What is wrong with `value` read in `zone`; undefined when nothing is. */
type ZonedCheck = (value: string, zone: string) => string | undefined;

/** `check` with its answers remembered per value and zone (fleets repeat a few of them), up to 10,000 of them. */
function rememberedPerZone(check: ZonedCheck): ZonedCheck {
  const answers = new Map<string, string | undefined>();
  return (value, zone) => {
    const key = `${zone}\0${value}`;
    if (answers.has(key)) return answers.get(key);
    const why = check(value, zone);
    if (answers.size < 10_000) answers.set(key, why);
    return why;
  };
}

/** Why a cron expression is invalid, remembered per expression and zone. */
const cronError = rememberedPerZone(parseCron);

function parseCron(expression: string, zone: string): string | undefined {
  const fields = expression.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) return `it has ${fields} field${fields === 1 ? '' : 's'}, not 5`;
  try {
    CronExpressionParser.parse(expression, { tz: zone, currentDate: new Date(0) }).next();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message.replace(/\.$/, '') : String(err);
  }
}

/** Why an RFC 3339 time (already the right shape) is not a real instant, e.g. February 30th; remembered per time and zone. */
const timeError = rememberedPerZone(parseTime);

function parseTime(time: string, zone: string): string | undefined {
  const dt = DateTime.fromISO(time.replace(' ', 'T'), { zone, setZone: true });
  return dt.isValid ? undefined : (dt.invalidExplanation ?? dt.invalidReason ?? 'not a real date and time');
}

let zones: readonly string[] | undefined;
function zoneNames(): readonly string[] {
  zones ??= [...Intl.supportedValuesOf('timeZone'), 'UTC', 'host'];
  return zones;
}
