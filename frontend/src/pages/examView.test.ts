import { describe, expect, it } from 'vitest';
import { GraphQLRequestError } from '../graphql/client';
import type { BookingStatus, ExamDashboardQuery } from '../gql/graphql';
import { bookingSummary, examView, withBooking } from './examView';

const ready: ExamDashboardQuery = {
  me: { id: '1', name: 'Aroha Ngata', email: 'aroha@example.com', timeZone: null },
  exam: { code: 'DEMO-101', title: 'Demo Certification Exam', bookable: true, timeZone: 'Europe/Amsterdam', onDemand: false },
  eligibility: { endsAt: '2027-02-27T12:00:00Z', active: true },
  bookings: [],
  result: null,
};

const gqlError = (code: string, data: unknown = null) =>
  new GraphQLRequestError('Message for the learner.', 'graphql', [{ message: 'Message for the learner.', extensions: { code } }], data);

describe('examView', () => {
  it('shows loading first', () => {
    expect(examView({ status: 'loading' })).toEqual({ kind: 'loading' });
  });

  it('shows the dashboard when everything loaded', () => {
    expect(examView({ status: 'done', data: ready })).toEqual({ kind: 'ready', data: ready });
  });

  it('ends the session when me is null or the server says UNAUTHENTICATED', () => {
    expect(examView({ status: 'done', data: { ...ready, me: null } }).kind).toBe('session-ended');
    expect(examView({ status: 'error', error: gqlError('UNAUTHENTICATED') }).kind).toBe('session-ended');
    expect(examView({ status: 'error', error: gqlError('INTERNAL', { me: null }) }).kind).toBe('session-ended');
  });

  it('treats an outage as one, never as a sign-out', () => {
    // The session could not be read: me is null, but the learner is still signed in.
    expect(examView({ status: 'error', error: gqlError('UNAVAILABLE', { me: null }) }).kind).toBe('unavailable');
    expect(examView({ status: 'error', error: new GraphQLRequestError('offline', 'network') }).kind).toBe('unavailable');
    expect(examView({ status: 'error', error: new GraphQLRequestError('bad gateway', 'http', [], null, 502) }).kind).toBe('unavailable');
    expect(examView({ status: 'error', error: new GraphQLRequestError('teapot', 'http', [], null, 418) }).kind).toBe('error');
  });

  it('prefers the session message over not found', () => {
    const both = new GraphQLRequestError('x', 'graphql', [
      { message: 'No such exam.', extensions: { code: 'NOT_FOUND' } },
      { message: 'Sign in.', extensions: { code: 'UNAUTHENTICATED' } },
    ]);
    expect(examView({ status: 'error', error: both }).kind).toBe('session-ended');
  });

  it('reports an unknown exam', () => {
    expect(examView({ status: 'done', data: { ...ready, exam: null } }).kind).toBe('not-found');
    expect(examView({ status: 'error', error: gqlError('NOT_FOUND') }).kind).toBe('not-found');
  });

  it('shows the server message for other errors', () => {
    expect(examView({ status: 'error', error: gqlError('FORBIDDEN') })).toEqual({
      kind: 'error',
      message: 'Message for the learner.',
    });
    expect(examView({ status: 'error', error: new Error('bug') }).kind).toBe('error');
  });
});

describe('bookingSummary', () => {
  const b = (id: string, status: BookingStatus) => ({ id, status });

  it('picks the newest pending booking and keeps the history short', () => {
    const bookings = [
      b('g', 'CANCELLED'),
      b('f', 'PENDING'),
      b('e', 'NO_SHOW'),
      b('d', 'PENDING'),
      ...['c', 'b', 'a', 'z', 'y'].map((id) => b(id, 'CANCELLED')),
    ];
    const summary = bookingSummary(bookings);
    expect(summary.pending?.id).toBe('f');
    expect(summary.started).toBeNull();
    expect(summary.history.map((x) => x.id)).toEqual(['g', 'e', 'c', 'b', 'a']);
    expect(bookingSummary([]).pending).toBeNull();
  });

  it('finds a booking in progress or done', () => {
    const summary = bookingSummary([b('b', 'STARTED'), b('a', 'COMPLETED')]);
    expect(summary.started?.id).toBe('b');
    expect(summary.completed?.id).toBe('a');
  });
});

describe('withBooking', () => {
  it('replaces a booking by id, or puts a new one first', () => {
    const list = [
      { id: 'b', status: 'PENDING' },
      { id: 'a', status: 'CANCELLED' },
    ];
    expect(withBooking(list, { id: 'b', status: 'CANCELLED' })).toEqual([
      { id: 'b', status: 'CANCELLED' },
      { id: 'a', status: 'CANCELLED' },
    ]);
    expect(withBooking(list, { id: 'c', status: 'PENDING' }).map((x) => x.id)).toEqual(['c', 'b', 'a']);
  });
});
