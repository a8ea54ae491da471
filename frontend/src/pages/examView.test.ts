import { describe, expect, it } from 'vitest';
import { GraphQLRequestError } from '../graphql/client';
import type { ExamDashboardQuery } from '../gql/graphql';
import { examView, pendingBooking } from './examView';

const ready: ExamDashboardQuery = {
  me: { id: '1', firstName: 'Aroha', lastName: 'Ngata', email: 'aroha@example.com' },
  exam: { code: 'DEMO-101', title: 'Demo Certification Exam' },
  eligibility: { endsAt: '2027-02-27T12:00:00Z', active: true },
  bookings: [],
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

describe('pendingBooking', () => {
  it('picks the newest pending booking', () => {
    const bookings: ExamDashboardQuery['bookings'] = [
      { id: 'c', status: 'CANCELLED', startsAt: '2027-01-03T00:00:00Z' },
      { id: 'b', status: 'PENDING', startsAt: '2027-01-02T00:00:00Z' },
      { id: 'a', status: 'PENDING', startsAt: '2027-01-01T00:00:00Z' },
    ];
    expect(pendingBooking(bookings)?.id).toBe('b');
    expect(pendingBooking([])).toBeNull();
  });
});
