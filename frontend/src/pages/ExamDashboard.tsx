import { useCallback, useEffect, useRef } from 'react';
import { graphql } from '../gql';
import type { BookingFieldsFragment, ExamDashboardQuery } from '../gql/graphql';
import { useQuery } from '../graphql/useQuery';
import { navigate, paths } from '../router';
import { Link } from '../components/Link';
import { showStatus } from '../components/Messages';
import { rememberTimeZone, TimeZonePicker } from '../components/TimeZonePicker';
import { useDocumentTitle } from '../components/useDocumentTitle';
import { browserLocale, formatInstant } from '../format/datetime';
import { useTimeZone } from '../format/timeZone';
import { LatestResult, playerPaths } from '../player';
import { BookingHistory, FinishedBooking, PendingBooking } from './BookingCards';
import { ExamLoadFailure } from './ExamLoadFailure';
import { attemptsLine, OnDemandExam } from './OnDemandExam';
import { Closed } from './StandingNote';
import { bookingSummary, examView, withBooking, type Ready } from './examView';

// One round trip for everything the dashboard shows.
const ExamDashboardDocument = graphql(`
  query ExamDashboard($code: String!) {
    me {
      id
      name
      email
      timeZone
    }
    exam(code: $code) {
      code
      title
      bookable
      timeZone
      onDemand
      durationMinutes
      itemCount
      passMark
      attemptsAllowed
      attemptsLeft
    }
    eligibility(examCode: $code) {
      endsAt
      active
    }
    bookings(examCode: $code) {
      ...BookingFields
    }
    result(examCode: $code) {
      attemptId
      examCode
      passed
      percent
      delivery
    }
  }
`);

export function ExamDashboard({ code }: { code: string }) {
  const { state, retry, refetch, setData } = useQuery(ExamDashboardDocument, { code });
  const view = examView(state);
  // A mutation's answer is the booking's new state: show it at once, then
  // reload in the background for everything that follows from it.
  const update = useCallback(
    (booking: BookingFieldsFragment) => {
      setData((data) => ({ ...data, bookings: withBooking(data.bookings, booking) }));
      refetch();
    },
    [setData, refetch],
  );
  return view.kind === 'ready' ? (
    <Dashboard data={view.data} refetch={refetch} update={update} />
  ) : (
    <ExamLoadFailure view={view} retry={retry} />
  );
}

interface DashboardProps {
  data: Ready<ExamDashboardQuery>;
  refetch: () => void;
  update: (booking: BookingFieldsFragment) => void;
}

function Dashboard({ data, refetch, update }: DashboardProps) {
  const { me, exam, eligibility, bookings, result } = data;
  useDocumentTitle(exam.title);
  const zone = useTimeZone();
  const locale = browserLocale();
  const { pending, started, completed, history } = bookingSummary(bookings);
  const bookingHeading = useRef<HTMLHeadingElement>(null);

  useEffect(() => rememberTimeZone(zone, me.timeZone), [zone, me.timeZone]);

  // After cancel or start the buttons are gone: continue from the section heading.
  const changed = (booking: BookingFieldsFragment, status: string) => {
    update(booking);
    showStatus(status);
    requestAnimationFrame(() => bookingHeading.current?.focus());
  };
  // An exam taken in examgate opens at once; others are taken as the course provider says.
  const onStarted = (booking: BookingFieldsFragment) =>
    booking.attemptId
      ? navigate(playerPaths.attempt(booking.attemptId), 'Your exam has started.')
      : changed(booking, 'Your exam has started.');
  const finished = started ?? completed;
  // The latest result belongs on the card of the booking it came from.
  const finishedResult = finished?.status === 'COMPLETED' && result?.attemptId === finished.attemptId ? result : null;

  return (
    <>
      <header className="exam-header">
        <h1>{exam.title}</h1>
        <p className="signed-in">
          Signed in as {me.name ? <strong>{me.name}</strong> : null}{' '}
          <span className="email">{me.name ? `(${me.email})` : me.email}</span>
        </p>
        <TimeZonePicker />
      </header>

      <section className="card" aria-labelledby="eligibility-heading">
        <h2 id="eligibility-heading">Your eligibility</h2>
        {eligibility ? (
          eligibility.active ? (
            <p className="deadline" data-testid="eligibility-end">
              {exam.onDemand ? 'Take the exam before' : 'Book before'}{' '}
              <time dateTime={eligibility.endsAt}>{formatInstant(eligibility.endsAt, locale, zone)}</time>
            </p>
          ) : (
            <p className="deadline ended" data-testid="eligibility-end">
              Your eligibility ended on{' '}
              <time dateTime={eligibility.endsAt}>{formatInstant(eligibility.endsAt, locale, zone)}</time>. Contact
              support if you believe this is wrong.
            </p>
          )
        ) : (
          <p>
            We have no record of your course purchase for this exam yet. Go back to your course and open the exam
            again; contact support if this message stays.
          </p>
        )}
      </section>

      <section className="card" aria-labelledby="booking-heading">
        <h2 id="booking-heading" ref={bookingHeading} tabIndex={-1}>
          {exam.onDemand ? 'Your exam' : 'Your booking'}
        </h2>
        {exam.onDemand ? (
          <OnDemandExam data={data} />
        ) : pending ? (
          <PendingBooking
            key={pending.id}
            booking={pending}
            examCode={exam.code}
            refetch={refetch}
            onCancelled={(b) => changed(b, 'Booking cancelled.')}
            onStarted={onStarted}
          />
        ) : (
          <>
            {finished && (
              <FinishedBooking booking={finished} summary={finishedResult && <LatestResult result={finishedResult} />} />
            )}
            {/* A passed exam is not sat again: nothing more to book. */}
            {result?.passed && !finishedResult && <LatestResult result={result} />}
            {!result?.passed && !started && <BookCallToAction data={data} />}
          </>
        )}
        <BookingHistory bookings={history} />
      </section>
    </>
  );
}

function BookCallToAction({ data }: { data: Ready<ExamDashboardQuery> }) {
  const { exam } = data;
  return (
    <Closed data={data}>
      {exam.bookable ? (
        <>
          <p>You have no upcoming booking. Choose a time that suits you.</p>
          {attemptsLine(exam)}
          <Link className="button" href={paths.book(exam.code)}>
            Book a time slot
          </Link>
        </>
      ) : (
        <p>This exam cannot be booked online. Contact support to arrange a time.</p>
      )}
    </Closed>
  );
}
