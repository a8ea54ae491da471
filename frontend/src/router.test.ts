import { describe, expect, it } from 'vitest';
import { matchRoute, paths } from './router';

describe('matchRoute', () => {
  it('maps / to the home page', () => {
    expect(matchRoute('/')).toEqual({ page: 'home' });
  });

  it('extracts and decodes the exam code', () => {
    expect(matchRoute('/exams/DEMO-101')).toEqual({ page: 'exam', code: 'DEMO-101' });
    expect(matchRoute('/exams/DEMO-101/')).toEqual({ page: 'exam', code: 'DEMO-101' });
    expect(matchRoute('/exams/A%20B')).toEqual({ page: 'exam', code: 'A B' });
  });

  it('maps the booking and reschedule pages', () => {
    expect(matchRoute('/exams/DEMO-101/book')).toEqual({ page: 'book', code: 'DEMO-101' });
    expect(matchRoute('/exams/DEMO-101/book/')).toEqual({ page: 'book', code: 'DEMO-101' });
    expect(matchRoute('/exams/DEMO-101/reschedule/b%2F1')).toEqual({
      page: 'reschedule',
      code: 'DEMO-101',
      bookingId: 'b/1',
    });
  });

  it('rejects other paths', () => {
    expect(matchRoute('/exams/')).toEqual({ page: 'not-found' });
    expect(matchRoute('/exams/a/b')).toEqual({ page: 'not-found' });
    expect(matchRoute('/exams/%E0%A4%A')).toEqual({ page: 'not-found' });
    expect(matchRoute('/exams/a/reschedule')).toEqual({ page: 'not-found' });
    expect(matchRoute('/exams/a/reschedule/%20')).toEqual({ page: 'not-found' });
    expect(matchRoute('/exams/a/book/x')).toEqual({ page: 'not-found' });
    expect(matchRoute('/nope')).toEqual({ page: 'not-found' });
  });

  it('builds paths that match back', () => {
    expect(matchRoute(paths.reschedule('A B', 'x/y'))).toEqual({ page: 'reschedule', code: 'A B', bookingId: 'x/y' });
    expect(matchRoute(paths.book('A B'))).toEqual({ page: 'book', code: 'A B' });
  });
});
