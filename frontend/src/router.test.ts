import { describe, expect, it } from 'vitest';
import { matchRoute } from './router';

describe('matchRoute', () => {
  it('maps / to the home page', () => {
    expect(matchRoute('/')).toEqual({ page: 'home' });
  });

  it('extracts and decodes the exam code', () => {
    expect(matchRoute('/exams/DEMO-101')).toEqual({ page: 'exam', code: 'DEMO-101' });
    expect(matchRoute('/exams/DEMO-101/')).toEqual({ page: 'exam', code: 'DEMO-101' });
    expect(matchRoute('/exams/A%20B')).toEqual({ page: 'exam', code: 'A B' });
  });

  it('rejects other paths', () => {
    expect(matchRoute('/exams/')).toEqual({ page: 'not-found' });
    expect(matchRoute('/exams/a/b')).toEqual({ page: 'not-found' });
    expect(matchRoute('/exams/%E0%A4%A')).toEqual({ page: 'not-found' });
    expect(matchRoute('/nope')).toEqual({ page: 'not-found' });
  });
});
