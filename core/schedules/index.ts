export { expandSchedule, scheduleZone, utcDayStart } from './expand-schedule.js';
