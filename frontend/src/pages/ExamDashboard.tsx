import { graphql } from '../gql';
import { useQuery } from '../graphql/useQuery';
import { formatForBrowser } from '../format/datetime';
import { MessagePage } from '../components/MessagePage';
import { useDocumentTitle } from '../components/useDocumentTitle';
import { SessionEnded } from './SessionEnded';
import { examView, pendingBooking, type ReadyData } from './examView';

// One round trip for everything the dashboard shows.
const ExamDashboardDocument = graphql(`
  query ExamDashboard($code: String!) {
    me {
      id
      firstName
      lastName
      email
    }
    exam(code: $code) {
      code
      title
    }
    eligibility(examCode: $code) {
      endsAt
      active
    }
    bookings(examCode: $code) {
      id
      status
      startsAt
    }
  }
`);

export function ExamDashboard({ code }: { code: string }) {
  const { state, retry } = useQuery(ExamDashboardDocument, { code });
  const view = examView(state);

  switch (view.kind) {
    case 'loading':
      return <Loading />;
    case 'session-ended':
      return <SessionEnded />;
    case 'not-found':
      return (
        <MessagePage title="Exam not found">
          <p>This exam does not exist. Check the link in your course, or contact support.</p>
        </MessagePage>
      );
    case 'error':
      return (
        <MessagePage title="We could not load your exam">
          <p role="alert">{view.message}</p>
          <button type="button" className="button" onClick={retry}>
            Retry
          </button>
        </MessagePage>
      );
    case 'ready':
      return <Dashboard data={view.data} />;
  }
}

function Loading() {
  useDocumentTitle('Loading');
  return (
    <p className="loading" role="status">
      Loading your exam…
    </p>
  );
}

function Dashboard({ data }: { data: ReadyData }) {
  const { me, exam, eligibility, bookings } = data;
  useDocumentTitle(exam.title);
  const booking = pendingBooking(bookings);

  return (
    <>
      <header className="exam-header">
        <h1>{exam.title}</h1>
        <p className="signed-in">
          Signed in as{' '}
          <strong>
            {me.firstName} {me.lastName}
          </strong>{' '}
          <span className="email">({me.email})</span>
        </p>
      </header>

      <section className="card" aria-labelledby="eligibility-heading">
        <h2 id="eligibility-heading">Your eligibility</h2>
        {eligibility ? (
          eligibility.active ? (
            <p className="deadline" data-testid="eligibility-end">
              Book before <time dateTime={eligibility.endsAt}>{formatForBrowser(eligibility.endsAt)}</time>
            </p>
          ) : (
            <p className="deadline ended" data-testid="eligibility-end">
              Your eligibility ended on <time dateTime={eligibility.endsAt}>{formatForBrowser(eligibility.endsAt)}</time>.
              Contact support if you believe this is wrong.
            </p>
          )
        ) : (
          <p>
            We have no record of your course purchase for this exam yet. Go back to your course and open the exam
            again; contact support if this message stays.
          </p>
        )}
      </section>

      {booking ? (
        <PendingBooking startsAt={booking.startsAt} />
      ) : (
        eligibility?.active && <BookCallToAction />
      )}
    </>
  );
}

// Booking is not live yet: the controls are shown so learners see what is
// coming, but disabled and explained.
function PendingBooking({ startsAt }: { startsAt: string }) {
  return (
    <section className="card" aria-labelledby="booking-heading">
      <h2 id="booking-heading">Your booking</h2>
      <p>
        Booked for <time dateTime={startsAt}>{formatForBrowser(startsAt)}</time>
      </p>
      <div className="actions" role="group" aria-label="Booking actions">
        <button type="button" className="button" disabled aria-describedby="booking-note">
          Start
        </button>
        <button type="button" className="button secondary" disabled aria-describedby="booking-note">
          Cancel
        </button>
        <button type="button" className="button secondary" disabled aria-describedby="booking-note">
          Reschedule
        </button>
      </div>
      <p id="booking-note" className="note">
        Available soon
      </p>
    </section>
  );
}

function BookCallToAction() {
  return (
    <section className="card" aria-labelledby="booking-heading">
      <h2 id="booking-heading">Book your exam</h2>
      {/* Placeholder until booking opens: no href, so it goes nowhere, but it
          stays focusable so keyboard and screen-reader users find the explanation. */}
      <a className="button" role="link" tabIndex={0} aria-disabled="true" aria-describedby="booking-soon">
        Book a time slot
      </a>
      <p id="booking-soon" className="note">
        Booking opens soon. You will be able to choose a time slot here.
      </p>
    </section>
  );
}
