import { afterEach, describe, expect, it } from 'vitest';
import { scoreSentence } from '../player/result';
import { rulesSentences } from '../booking/policy';
import { en } from './en';
import { catalogues, chooseLanguage, languageOf, LANGUAGES, placeholders, setLanguage, t, tn } from './index';

describe('catalogues', () => {
  const keys = Object.keys(en).sort();

  it.each(LANGUAGES)('%s has every key of en and no other', (language) => {
    expect(Object.keys(catalogues[language]).sort()).toEqual(keys);
  });

  it.each(LANGUAGES)('%s keeps the placeholders of every sentence', (language) => {
    for (const key of keys) {
      const k = key as keyof typeof en;
      expect([key, placeholders(catalogues[language][k])]).toEqual([key, placeholders(en[k])]);
    }
  });

  it.each(LANGUAGES)('%s has no empty sentence', (language) => {
    for (const [key, text] of Object.entries(catalogues[language])) expect([key, text.trim()]).not.toEqual([key, '']);
  });

  it('has both forms of every plural', () => {
    for (const key of keys.filter((k) => k.endsWith('.one'))) expect(keys).toContain(key.replace(/\.one$/, '.other'));
  });
});

describe('chooseLanguage', () => {
  it('follows the launch locale when examgate has its language', () => {
    expect(chooseLanguage('nl', ['en-US'])).toBe('nl');
    expect(chooseLanguage('nl-BE', ['en-US'])).toBe('nl');
    expect(chooseLanguage('NL_nl', [])).toBe('nl');
    expect(chooseLanguage('en-US', ['nl-NL'])).toBe('en');
  });

  it("falls back to the browser's first language", () => {
    expect(chooseLanguage(null, ['nl-NL', 'en'])).toBe('nl');
    expect(chooseLanguage('', ['nl'])).toBe('nl');
    expect(chooseLanguage('de-DE', ['nl-NL'])).toBe('nl');
    expect(chooseLanguage(undefined, ['en-GB', 'nl'])).toBe('en');
  });

  it('is English otherwise', () => {
    expect(chooseLanguage(null, ['de-DE', 'nl'])).toBe('en');
    expect(chooseLanguage('fr', [])).toBe('en');
  });

  it('reads the primary language subtag only', () => {
    expect(languageOf('nl')).toBe('nl');
    expect(languageOf('nld')).toBeNull();
    expect(languageOf('  en-gb ')).toBe('en');
  });
});

describe('t', () => {
  afterEach(() => setLanguage('en'));

  it('fills in parameters and leaves unknown ones visible', () => {
    expect(t('book.backTo', { exam: 'Safety' })).toBe('Back to Safety');
    expect(t('book.backTo')).toBe('Back to {exam}');
  });

  it('picks the singular or plural', () => {
    expect(tn('unit.minutes', 1)).toBe('1 minute');
    expect(tn('unit.minutes', 20)).toBe('20 minutes');
  });

  it('speaks Dutch, with Dutch numbers, once chosen', () => {
    setLanguage('nl');
    expect(t('book.backTo', { exam: 'Veiligheid' })).toBe('Terug naar Veiligheid');
    expect(tn('unit.hours', 24)).toBe('24 uur');
    expect(scoreSentence({ score: 2, maxScore: 3, percent: 66.667, passMark: 50, passed: true })).toBe(
      'U hebt 66,67 % gescoord (2 van 3 punten). De slaaggrens is 50 %.',
    );
    expect(rulesSentences({ checkInOpensMinutesBefore: 10, cancelCutoffMinutes: 1440, rescheduleCutoffMinutes: 1440, maxReschedules: 2 })).toEqual([
      'U kunt 10 minuten voor het geboekte tijdstip starten.',
      'U kunt annuleren of verzetten tot 24 uur voor de start (verzetten hoogstens twee keer).',
    ]);
  });
});
