import { useSyncExternalStore } from 'react';
import { browserTimeZone } from './datetime';

// The learner's zone: their explicit choice (kept in this browser), else the
// browser's. Every time on every page reads it, so one store drives them all.

export const STORAGE_KEY = 'examgate.timeZone';
const listeners = new Set<() => void>();
let current: string | null = null; // cached: getSnapshot must be cheap and stable

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function stored(): string | null {
  try {
    const name = localStorage.getItem(STORAGE_KEY);
    return name && isTimeZone(name) ? name : null;
  } catch {
    return null; // storage blocked (privacy mode): fall back to the browser's zone
  }
}

export function effectiveTimeZone(): string {
  return stored() ?? browserTimeZone();
}

export function chooseTimeZone(name: string): void {
  try {
    localStorage.setItem(STORAGE_KEY, name);
  } catch {
    // Not remembered across visits, but this page still follows the choice.
  }
  current = name;
  listeners.forEach((notify) => notify());
}

function subscribe(onChange: () => void): () => void {
  listeners.add(onChange);
  // Another tab changed the choice.
  const onStorage = (e: StorageEvent) => {
    if (e.key === STORAGE_KEY) {
      current = null;
      onChange();
    }
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(onChange);
    window.removeEventListener('storage', onStorage);
  };
}

export function useTimeZone(): string {
  return useSyncExternalStore(subscribe, () => (current ??= effectiveTimeZone()));
}

/** Every zone the browser knows, always including `selected`. */
export function timeZoneOptions(selected: string): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return all.includes(selected) ? all : [...all, selected].sort();
}

/** The zone as every page and email names it: its IANA name, one spelling everywhere. */
export const zoneLabel = (name: string) => name;

/** The zone's offset from UTC at `at`, e.g. "UTC+01:00", "UTC−05:00", "UTC+00:00". */
export function utcOffset(name: string, at: number): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' })
    .formatToParts(at)
    .find((p) => p.type === 'timeZoneName')?.value;
  if (!part || part === 'GMT') return 'UTC+00:00';
  return part.replace('GMT', 'UTC').replace('-', '−');
}

/** A picker line: "UTC−05:00 · New York (America/New_York)". */
export function zoneOptionLabel(name: string, at: number): string {
  const place = name.split('/').at(-1)!.replaceAll('_', ' ');
  return `${utcOffset(name, at)} · ${place} (${name})`;
}

/** Minutes east of UTC at `at`, for ordering the picker west to east. */
function offsetMinutes(name: string, at: number): number {
  const m = /UTC([+−])(\d\d):(\d\d)/.exec(utcOffset(name, at));
  return m ? (m[1] === '−' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/**
 * The picker's zones matching `query` (a place, a region or an offset such
 * as "+1" or "UTC-5"), west to east, always with `selected`.
 */
export function searchZones(names: readonly string[], query: string, selected: string, at: number) {
  const words = query
    .toLowerCase()
    .replaceAll('−', '-')
    .split(/\s+/)
    .filter(Boolean);
  const options = names.map((name) => ({ name, label: zoneOptionLabel(name, at), offset: offsetMinutes(name, at) }));
  const matches = options.filter(({ name, label }) => {
    if (name === selected) return true;
    const hay = `${label} ${name}`.toLowerCase().replaceAll('−', '-').replaceAll('_', ' ');
    return words.every((w) => hay.includes(w.replace(/^utc/, '').replace(/^([+-])(\d)$/, '$10$2')));
  });
  return matches.sort((a, b) => a.offset - b.offset || a.name.localeCompare(b.name));
}
