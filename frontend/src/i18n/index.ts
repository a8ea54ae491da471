import { useLayoutEffect, useSyncExternalStore } from 'react';
import { en } from './en';
import { nl } from './nl';

// Every sentence the learner reads comes from a catalogue, in one language
// per page: the platform's launch locale when it names a language examgate
// has, else the browser's first language when it is one, else English.
// Dates follow the same choice (see dateLocale).

export type Key = keyof typeof en;
export type Catalogue = Record<Key, string>;
export type Params = Record<string, string | number>;

export const LANGUAGES = ['en', 'nl'] as const;
export type Language = (typeof LANGUAGES)[number];

export const catalogues: Record<Language, Catalogue> = { en, nl };

/** The language a locale tag ("nl-BE", "en_US", "NL") names, if examgate has it. */
export function languageOf(tag: string | null | undefined): Language | null {
  const primary = (tag ?? '').trim().toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.find((l) => l === primary) ?? null;
}

/**
 * The page language: the launch locale's language when examgate has it,
 * else the browser's first language when examgate has it, else English.
 */
export function chooseLanguage(launchLocale: string | null | undefined, browserLanguages: readonly string[]): Language {
  return languageOf(launchLocale) ?? languageOf(browserLanguages[0]) ?? 'en';
}

const STORAGE_KEY = 'examgate.launchLocale';
let current: Language = 'en';
const listeners = new Set<() => void>();

function browserLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? navigator.languages : [navigator.language];
}

function storedLaunchLocale(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function apply(language: Language): void {
  if (typeof document !== 'undefined') document.documentElement.lang = language;
  if (language === current) return;
  current = language;
  listeners.forEach((notify) => notify());
}

/**
 * Chooses the language at start-up: the launch locale this browser last
 * learnt from the server (see useLaunchLocale), else the browser's.
 */
export function startLanguage(): void {
  apply(chooseLanguage(storedLaunchLocale(), browserLanguages()));
}

/**
 * Follows the launch locale the server stored for the learner (null when
 * the platform sent none): kept in this browser so that the next page load
 * starts in the same language.
 */
export function setLaunchLocale(locale: string | null | undefined): void {
  try {
    if (locale) localStorage.setItem(STORAGE_KEY, locale);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage blocked: this page still follows it
  }
  apply(chooseLanguage(locale, browserLanguages()));
}

/**
 * Follows the learner's launch locale once a page has read it (`me.locale`:
 * null when the platform sent none, undefined while not yet read), before
 * the browser paints, so the page never shows in two languages.
 */
export function useLaunchLocale(locale: string | null | undefined): void {
  useLayoutEffect(() => {
    if (locale !== undefined) setLaunchLocale(locale);
  }, [locale]);
}

export function language(): Language {
  return current;
}

/** For tests: the language t() uses. */
export function setLanguage(language: Language): void {
  apply(language);
}

/** Re-renders the caller when the language changes. */
export function useLanguage(): Language {
  return useSyncExternalStore(
    (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    () => current,
  );
}

/** The sentence `key` in the page language, with {name} replaced by params.name. */
export function t(key: Key, params: Params = {}): string {
  const text = catalogues[current][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The bases of keys with .one and .other forms. */
export type PluralKey = { [K in Key]: K extends `${infer B}.one` ? B : never }[Key];

/** The singular or plural of `base` for `n`, with {n} set to n. */
export function tn(base: PluralKey, n: number, params: Params = {}): string {
  return t(`${base}.${n === 1 ? 'one' : 'other'}` as Key, { n, ...params });
}

/** The placeholders of a sentence, sorted: "{when} … {n}" gives ["n", "when"]. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
}
