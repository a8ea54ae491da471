import { t, tn } from '../i18n';

// The exam clock follows the server, not the device: a device set a few
// minutes wrong must neither cut an exam short nor give extra time. The
// offset between the two is measured whenever the attempt is read.

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** How far the server's clock is ahead of the device's (negative when behind). */
export function clockOffset(serverTime: string, deviceNow: number): number {
  const server = Date.parse(serverTime);
  return Number.isNaN(server) ? 0 : server - deviceNow;
}

/** Milliseconds until the deadline by the corrected clock; ≤ 0 once time is up. */
export function remainingMs(deadline: string, offset: number, deviceNow: number): number {
  return Date.parse(deadline) - (deviceNow + offset);
}

export interface TimeWarning {
  /** Minutes left when it is given. */
  minutes: 5 | 1;
  message: string;
}

const WARNINGS = [
  { minutes: 1, key: 'clock.warn1' },
  { minutes: 5, key: 'clock.warn5' },
] as const;

/** The most urgent warning due with `remaining` ms left, or null above 5 minutes. */
export function warningFor(remaining: number): TimeWarning | null {
  const w = WARNINGS.find((w) => remaining <= w.minutes * MINUTE);
  return w ? { minutes: w.minutes, message: t(w.key) } : null;
}

/**
 * Whether `next` should be announced after `last`: only a more urgent
 * warning is, so a re-sync that moves the clock a little repeats nothing.
 */
export function isNewWarning(last: TimeWarning | null, next: TimeWarning | null): boolean {
  return next !== null && (last === null || next.minutes < last.minutes);
}

/** "4:05", "1:02:03"; whole seconds rounded up so "0:00" means time is up. */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / SECOND));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The same for screen readers, who would read "4:05" as a time of day: "4 minutes 5 seconds". */
export function spokenRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / SECOND));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const part = (n: number, unit: 'unit.hours' | 'unit.minutes' | 'unit.seconds') => (n > 0 ? [tn(unit, n)] : []);
  const words = [...part(h, 'unit.hours'), ...part(m, 'unit.minutes'), ...part(s, 'unit.seconds')];
  return words.length > 0 ? words.join(' ') : tn('unit.seconds', 0);
}
