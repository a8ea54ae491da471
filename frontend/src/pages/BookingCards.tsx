import { useId, useRef, useState, type ReactNode } from 'react';
import type { BookingFieldsFragment, Permission } from '../gql/graphql';
import { request } from '../graphql/client';
import { endSession } from '../graphql/session';
import { navigate, paths } from '../router';
import { ClientKeyedAction } from '../booking/clientKey';
import { describeError, permissionReason, type Problem } from '../booking/errors';
import { CancelBookingDocument, StartExamDocument } from '../booking/operations';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Link } from '../components/Link';
import { useAtInstants, useNow } from '../components/hooks';
import { ErrorMessage } from '../components/Messages';
import { formatCountdown } from '../format/countdown';
import { browserLocale, formatInstant, formatTime } from '../format/datetime';
import { useTimeZone } from '../format/timeZone';
import { ContinueAttempt, playerPaths } from '../player';
import { t } from '../i18n';
import { tNodes } from '../i18n/nodes';

type Booking = BookingFieldsFragment;

interface PendingProps {
  booking: Booking;
  examCode: string;
  refetch: () => void;
  onCancelled: (booking: Booking) => void;
  onStarted: (booking: Booking) => void;
}

export function PendingBooking({ booking, examCode, refetch, onCancelled, onStarted }: PendingProps) {
  const zone = useTimeZone();
  const locale = browserLocale();
  const now = useNow(30_000);
  // Start opens and closes on the server's schedule; ask again at each edge.
  useAtInstants([Date.parse(booking.checkInOpensAt), Date.parse(booking.checkInClosesAt)], refetch);

  // Kept across clicks while the outcome is unknown, so a retry reuses the clientKey.
  const start = useRef<ClientKeyedAction<Booking> | null>(null);
  const [starting, setStarting] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [cancel, setCancel] = useState<ClientKeyedAction<Booking> | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const [cancelProblem, setCancelProblem] = useState<Problem | null>(null);
  const when = formatInstant(booking.startsAt, locale, zone);

  // Shared by both actions: a definite refusal means the permissions changed.
  const failed = (error: unknown, action: 'start' | 'cancel'): Problem | null => {
    const p = describeError(error, { action });
    if (p.sessionEnded) {
      endSession();
      return null;
    }
    if (!p.retry) refetch();
    return p;
  };

  const startExam = async () => {
    start.current ??= new ClientKeyedAction((clientKey) =>
      request(StartExamDocument, { input: { bookingId: booking.id, clientKey } }).then((d) => d.startExam),
    );
    setStarting(true);
    setProblem(null);
    try {
      onStarted(await start.current.perform());
    } catch (error) {
      setProblem(failed(error, 'start'));
      setStarting(false);
    }
  };

  const openCancel = () => {
    setProblem(null);
    setCancelProblem(null);
    setCancel(
      new ClientKeyedAction((clientKey) =>
        request(CancelBookingDocument, { input: { bookingId: booking.id, clientKey } }).then((d) => d.cancelBooking),
      ),
    );
  };

  const confirmCancel = async () => {
    if (!cancel) return;
    setCancelling(true);
    try {
      onCancelled(await cancel.perform());
    } catch (error) {
      const p = failed(error, 'cancel');
      setCancelling(false);
      if (p?.retry) return setCancelProblem(p);
      setCancel(null);
      setProblem(p);
    }
  };

  return (
    <>
      <p className="booked-time">
        {tNodes('booking.bookedFor', {
          when: (
            <time dateTime={booking.startsAt} data-testid="booking-time">
              {when}
            </time>
          ),
        })}
      </p>
      {booking.timeZone !== zone && (
        <p className="note" data-testid="exam-zone-time">
          {t('booking.examZoneTime', { when: formatInstant(booking.startsAt, locale, booking.timeZone) })}
        </p>
      )}
      <p className="countdown" data-testid="countdown">
        {formatCountdown(Date.parse(booking.startsAt), now)}
      </p>
      <p className="note">
        {t('booking.checkIn', {
          from: formatTime(booking.checkInOpensAt, locale, zone),
          until: formatTime(booking.checkInClosesAt, locale, zone),
        })}
      </p>
      <p>
        <a href={booking.calendarUrl} download className="calendar-link">
          {t('booking.addToCalendar')}
        </a>
      </p>
      <ul className="booking-actions" aria-label={t('booking.actions')}>
        <Action label={t('booking.start')} busyLabel={t('booking.starting')} busy={starting} permission={booking.canStart} onClick={startExam} primary />
        <Action label={t('booking.cancel')} permission={booking.canCancel} onClick={openCancel} />
        <Action
          label={t('booking.reschedule')}
          permission={booking.canReschedule}
          onClick={() => navigate(paths.reschedule(examCode, booking.id))}
        />
      </ul>
      {problem && <ErrorMessage problem={problem} focus />}
      {cancel && (
        <ConfirmDialog
          title={t('booking.cancelTitle', { when })}
          confirmLabel={t('booking.cancelConfirm')}
          busyLabel={t('booking.cancelling')}
          busy={cancelling}
          error={cancelProblem}
          onConfirm={confirmCancel}
          onClose={() => setCancel(null)}
          initialFocus="back"
        >
          <p>{t('booking.seatFreed')}</p>
        </ConfirmDialog>
      )}
    </>
  );
}

interface ActionProps {
  label: string;
  permission: Pick<Permission, 'allowed' | 'code' | 'reason'>;
  onClick: () => void;
  busy?: boolean;
  busyLabel?: string;
  primary?: boolean;
}

/** A booking button, disabled with the server's reason next to it when not allowed. */
function Action({ label, permission, onClick, busy = false, busyLabel, primary = false }: ActionProps) {
  const reasonId = useId();
  return (
    <li>
      <button
        type="button"
        className={primary ? 'button' : 'button secondary'}
        disabled={!permission.allowed || busy}
        aria-describedby={permission.allowed ? undefined : reasonId}
        onClick={onClick}
      >
        {busy ? busyLabel : label}
      </button>
      {!permission.allowed && (
        <span id={reasonId} className="reason">
          {permissionReason(permission, t('booking.notAvailable'))}
        </span>
      )}
    </li>
  );
}

/**
 * A booking that is under way or over. `summary` is the result of its
 * attempt, when the dashboard has it; otherwise a link to the result page.
 */
export function FinishedBooking({ booking, summary }: { booking: Booking; summary?: ReactNode }) {
  const zone = useTimeZone();
  const when = formatInstant(booking.startsAt, browserLocale(), zone);
  const { attemptId } = booking;
  if (booking.status === 'COMPLETED') {
    return (
      <>
        <p className="deadline" data-testid="completed">
          {t('booking.completed')}
        </p>
        <p className="note">{t('booking.satOn', { when })}</p>
        {summary ||
          (attemptId && (
            <p>
              <Link href={playerPaths.result(attemptId)}>{t('result.see')}</Link>
            </p>
          ))}
      </>
    );
  }
  if (attemptId) {
    return (
      <>
        <p className="deadline" data-testid="started">
          {t('booking.inProgress')}
        </p>
        <p className="note">{t('booking.inProgressNote', { when })}</p>
        <ContinueAttempt attemptId={attemptId} label={t('booking.continue')} />
      </>
    );
  }
  // Started, but the exam is not one examgate delivers in the browser.
  return (
    <>
      <p className="deadline" data-testid="started">
        {t('exam.started')}
      </p>
      <p className="note">{t('booking.elsewhereNote', { when })}</p>
    </>
  );
}

/** Cancelled and missed bookings, for reference. */
export function BookingHistory({ bookings }: { bookings: readonly Booking[] }) {
  const zone = useTimeZone();
  const locale = browserLocale();
  if (bookings.length === 0) return null;
  return (
    <>
      <h3 className="history-heading">{t('booking.history')}</h3>
      <ul className="history">
        {bookings.map((b) => (
          <li key={b.id}>
            {tNodes(b.status === 'CANCELLED' ? 'booking.historyCancelled' : 'booking.historyMissed', {
              when: <time dateTime={b.startsAt}>{formatInstant(b.startsAt, locale, zone)}</time>,
            })}
          </li>
        ))}
      </ul>
    </>
  );
}
