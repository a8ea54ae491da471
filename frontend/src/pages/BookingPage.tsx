import { useCallback, useEffect, useState } from 'react';
import type { BookingFieldsFragment, BookingPageQuery } from '../gql/graphql';
import { request } from '../graphql/client';
import { useQuery } from '../graphql/useQuery';
import { endSession } from '../graphql/session';
import { paths, navigate } from '../router';
import { ClientKeyedAction } from '../booking/clientKey';
import { describeError, type Problem } from '../booking/errors';
import { BookingPageDocument, BookSlotDocument, RescheduleBookingDocument } from '../booking/operations';
import { SlotCalendar, type Slot } from '../booking/SlotCalendar';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorMessage } from '../components/Messages';
import { Link } from '../components/Link';
import { rememberTimeZone, TimeZonePicker } from '../components/TimeZonePicker';
import { useDocumentTitle } from '../components/useDocumentTitle';
import { browserLocale, formatInstant, formatInstantFull } from '../format/datetime';
import { cutoffWarning, lengthSentence, rulesSentences } from '../booking/policy';
import { standing } from '../player/standing';
import { useTimeZone } from '../format/timeZone';
import { ExamLoadFailure } from './ExamLoadFailure';
import { examView, type Ready } from './examView';

/** Booking a new slot, or with `bookingId`, moving that booking to another one. */
export function BookingPage({ code, bookingId }: { code: string; bookingId?: string }) {
  const { state, retry } = useQuery(BookingPageDocument, { code });
  const view = examView(state);
  return view.kind === 'ready' ? (
    <Booking data={view.data} bookingId={bookingId} />
  ) : (
    <ExamLoadFailure view={view} retry={retry} />
  );
}

interface Pending {
  slot: Slot;
  action: ClientKeyedAction<BookingFieldsFragment>;
}

function Booking({ data, bookingId }: { data: Ready<BookingPageQuery>; bookingId?: string }) {
  const { me, exam, eligibility, bookings } = data;
  const moving = bookingId !== undefined ? bookings.find((b) => b.id === bookingId) : undefined;
  const title = bookingId ? 'Reschedule your booking' : 'Book a time slot';
  useDocumentTitle(`${title} · ${exam.title}`);
  const zone = useTimeZone();
  const locale = browserLocale();
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [dialogProblem, setDialogProblem] = useState<Problem | null>(null);
  const [pageProblem, setPageProblem] = useState<Problem | null>(null);
  const [refreshKey, setRefreshKey] = useState(0);

  useEffect(() => rememberTimeZone(zone, me.timeZone), [zone, me.timeZone]);

  const choose = useCallback(
    (slot: Slot) => {
      const input = { startsAt: slot.startsAt };
      // One action, and so one clientKey, per confirmation; retries reuse it.
      const action = new ClientKeyedAction((clientKey) =>
        moving
          ? request(RescheduleBookingDocument, { input: { ...input, bookingId: moving.id, clientKey } }).then(
              (d) => d.rescheduleBooking,
            )
          : request(BookSlotDocument, { input: { ...input, examCode: exam.code, clientKey } }).then((d) => d.bookSlot),
      );
      setDialogProblem(null);
      setPending({ slot, action });
    },
    [moving, exam.code],
  );

  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    try {
      const booking = await pending.action.perform();
      const when = formatInstant(booking.startsAt, locale, zone);
      navigate(paths.exam(exam.code), moving ? `Booking moved to ${when}.` : `Booked for ${when}.`);
    } catch (error) {
      const problem = moving
        ? describeError(error, { action: 'reschedule', oldTime: formatInstant(moving.startsAt, locale, zone) })
        : describeError(error, { action: 'book' });
      if (problem.sessionEnded) return endSession();
      setBusy(false);
      if (problem.retry) return setDialogProblem(problem); // same clientKey on the next try
      // A definite no (taken, too late…): back to the calendar with fresh slots.
      setPending(null);
      setPageProblem(problem);
      setRefreshKey((n) => n + 1);
    }
  };

  const header = (
    <header className="exam-header">
      <p className="breadcrumb">
        <Link href={paths.exam(exam.code)}>Back to {exam.title}</Link>
      </p>
      <h1>{title}</h1>
      <TimeZonePicker />
    </header>
  );

  const blocked = blockedReason(data, bookingId, moving);
  if (blocked) {
    return (
      <>
        {header}
        <section className="card">
          <p>{blocked}</p>
          <Link className="button" href={paths.exam(exam.code)}>
            Back to your exam
          </Link>
        </section>
      </>
    );
  }

  const slotTime = pending && formatInstantFull(pending.slot.startsAt, locale, zone);
  const warning = pending && exam.policy && cutoffWarning(Date.parse(pending.slot.startsAt), Date.now(), exam.policy);
  return (
    <>
      {header}
      {moving && (
        <p className="card">
          Your booking: <strong>{formatInstant(moving.startsAt, locale, zone)}</strong>. You can move it{' '}
          {moving.reschedulesLeft === 1 ? 'once more' : `${moving.reschedulesLeft} more times`}.
        </p>
      )}
      {pageProblem && <ErrorMessage problem={pageProblem} focus />}
      <SlotCalendar
        code={exam.code}
        zone={zone}
        endsAt={eligibility!.endsAt}
        refreshKey={refreshKey}
        current={moving?.startsAt}
        onChoose={(slot) => {
          setPageProblem(null);
          choose(slot);
        }}
      />
      {pending && (
        <ConfirmDialog
          title={moving ? `Move your booking from ${formatInstantFull(moving.startsAt, locale, zone)} to ${slotTime}?` : `Book ${slotTime}?`}
          confirmLabel="Confirm"
          busyLabel={moving ? 'Moving…' : 'Booking…'}
          busy={busy}
          error={dialogProblem}
          onConfirm={confirm}
          onClose={() => setPending(null)}
        >
          {warning && (
            <p className="warning" data-testid="cutoff-warning">
              <strong>{warning}</strong>
            </p>
          )}
          <p>{lengthSentence(exam.durationMinutes, exam.slotMinutes)}</p>
          {exam.policy && <p data-testid="booking-rules">{rulesSentences(exam.policy).join(' ')}</p>}
        </ConfirmDialog>
      )}
    </>
  );
}

/** Why this page cannot offer slots, or null when it can. */
function blockedReason(
  { exam, eligibility, bookings, result }: Ready<BookingPageQuery>,
  bookingId: string | undefined,
  moving: BookingFieldsFragment | undefined,
): string | null {
  if (!exam.bookable) return 'This exam cannot be booked online. Contact support to arrange a time.';
  if (bookingId === undefined) {
    const now = standing({
      eligibility: eligibility ?? null,
      passed: result?.passed === true,
      attemptsLeft: exam.attemptsLeft ?? null,
      attemptsAllowed: exam.attemptsAllowed ?? null,
    });
    if (!now.open) return now.reason;
    return bookings.some((b) => b.status === 'PENDING') ? 'You already have a booking for this exam.' : null;
  }
  if (!eligibility) return 'We have no record of your course purchase for this exam yet.';
  if (!eligibility.active) return 'Your eligibility for this exam has ended. Contact support if you believe this is wrong.';
  if (!moving || moving.status !== 'PENDING') return 'This booking can no longer be moved.';
  if (!moving.canReschedule.allowed) return moving.canReschedule.reason ?? 'This booking can no longer be moved.';
  return null;
}
