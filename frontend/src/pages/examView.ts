import { GraphQLRequestError, learnerMessage } from '../graphql/client';
import { t } from '../i18n';
import type { QueryState } from '../graphql/useQuery';
import type { BookingStatus } from '../gql/graphql';

// What an exam page should show, decided apart from rendering so the rules
// (which error wins, what a null means) are unit-tested.

interface PageData {
  me?: unknown;
  exam?: unknown;
}

/** Query data once the session and the exam are known to exist. */
export type Ready<T extends PageData> = T & { me: NonNullable<T['me']>; exam: NonNullable<T['exam']> };

export type ExamView<T extends PageData> =
  | { kind: 'loading' }
  | { kind: 'session-ended' }
  | { kind: 'not-found' }
  | { kind: 'error'; message: string }
  /** The server or the connection failed for now: retried by itself. */
  | { kind: 'unavailable' }
  | { kind: 'ready'; data: Ready<T> };

export function examView<T extends PageData>(state: QueryState<T>): ExamView<T> {
  switch (state.status) {
    case 'loading':
      return { kind: 'loading' };
    case 'error': {
      const { error } = state;
      if (!(error instanceof GraphQLRequestError)) return { kind: 'error', message: t('load.generic') };
      // No answer, or a gateway's 502/503/504: away for a moment.
      if (error.kind === 'network' || (error.kind === 'http' && [502, 503, 504].includes(error.status ?? 0))) {
        return { kind: 'unavailable' };
      }
      // Without a session every field but `me` fails, so the session check
      // comes first: an expired learner must not be told the exam is missing.
      if (error.hasCode('UNAUTHENTICATED')) return { kind: 'session-ended' };
      // A session that could not be read is an outage, never a sign-out:
      // `me` is null then too, so this comes before looking at it.
      if (error.hasCode('UNAVAILABLE')) return { kind: 'unavailable' };
      const partial = error.data as PageData | null;
      if (partial?.me === null) return { kind: 'session-ended' };
      if (error.hasCode('NOT_FOUND')) return { kind: 'not-found' };
      return { kind: 'error', message: learnerMessage(error, t('load.generic')) };
    }
    case 'done': {
      const { data } = state;
      if (!data.me) return { kind: 'session-ended' };
      if (!data.exam) return { kind: 'not-found' };
      return { kind: 'ready', data: data as Ready<T> };
    }
  }
}

/**
 * The bookings that matter on the dashboard (they come newest first): the
 * pending one, one in progress or done, and a short history of the rest.
 */
export function bookingSummary<B extends { status: BookingStatus }>(bookings: readonly B[]) {
  return {
    pending: bookings.find((b) => b.status === 'PENDING') ?? null,
    started: bookings.find((b) => b.status === 'STARTED') ?? null,
    completed: bookings.find((b) => b.status === 'COMPLETED') ?? null,
    history: bookings.filter((b) => b.status === 'CANCELLED' || b.status === 'NO_SHOW').slice(0, 5),
  };
}

/** Puts a booking a mutation returned in place of its old version (or first, if new). */
export function withBooking<B extends { id: string }>(bookings: readonly B[], booking: B): B[] {
  return bookings.some((b) => b.id === booking.id)
    ? bookings.map((b) => (b.id === booking.id ? booking : b))
    : [booking, ...bookings];
}
