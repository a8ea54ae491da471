import { GraphQLRequestError } from '../graphql/client';
import type { QueryState } from '../graphql/useQuery';
import type { ExamDashboardQuery } from '../gql/graphql';

// What the dashboard should show, decided apart from rendering so the rules
// (which error wins, what a null means) are unit-tested.

export type ReadyData = ExamDashboardQuery & {
  me: NonNullable<ExamDashboardQuery['me']>;
  exam: NonNullable<ExamDashboardQuery['exam']>;
};

export type ExamView =
  | { kind: 'loading' }
  | { kind: 'session-ended' }
  | { kind: 'not-found' }
  | { kind: 'error'; message: string }
  | { kind: 'ready'; data: ReadyData };

const GENERIC_MESSAGE = 'Something went wrong while loading your exam. Please try again.';

export function examView(state: QueryState<ExamDashboardQuery>): ExamView {
  switch (state.status) {
    case 'loading':
      return { kind: 'loading' };
    case 'error': {
      const { error } = state;
      if (!(error instanceof GraphQLRequestError)) return { kind: 'error', message: GENERIC_MESSAGE };
      // Without a session every field but `me` fails, so the session check
      // comes first: an expired learner must not be told the exam is missing.
      const partial = error.data as Partial<ExamDashboardQuery> | null;
      if (error.hasCode('UNAUTHENTICATED') || partial?.me === null) return { kind: 'session-ended' };
      if (error.hasCode('NOT_FOUND')) return { kind: 'not-found' };
      return { kind: 'error', message: error.message || GENERIC_MESSAGE };
    }
    case 'done': {
      const { data } = state;
      if (!data.me) return { kind: 'session-ended' };
      if (!data.exam) return { kind: 'not-found' };
      return { kind: 'ready', data: data as ReadyData };
    }
  }
}

/** The booking to show: the newest one still pending, if any (bookings come newest first). */
export function pendingBooking(bookings: ExamDashboardQuery['bookings']) {
  return bookings.find((b) => b.status === 'PENDING') ?? null;
}
