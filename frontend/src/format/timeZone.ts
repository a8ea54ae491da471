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
