import { useEffect, useMemo, useRef, useState } from 'react';
import type { AvailableSlotsQuery } from '../gql/graphql';
import { request } from '../graphql/client';
import { useQuery } from '../graphql/useQuery';
import { endSession } from '../graphql/session';
import { useMediaQuery, useNow } from '../components/hooks';
import { ErrorMessage } from '../components/Messages';
import { addDays, localDate, toRFC3339, weekDays, weekStart, type CivilDate, type Day } from '../format/calendar';
import { browserLocale, formatDay, formatInstant, formatTime } from '../format/datetime';
import { describeError } from './errors';
import { AvailableSlotsDocument } from './operations';

export type Slot = AvailableSlotsQuery['availableSlots'][number];

interface Props {
  code: string;
  zone: string;
  /** Eligibility end: the last bookable day is the one containing it. */
  endsAt: string;
  /** Changing it reloads the slots (after SLOT_FULL). */
  refreshKey: number;
  /** Start of the booking being moved, shown but not choosable. */
  current?: string;
  onChoose: (slot: Slot) => void;
}

const MAX_RANGE_MS = 92 * 86_400_000; // availableSlots' limit

/**
 * Open slots a week at a time (seven columns), or a day at a time on narrow
 * screens. Days are the learner's days: computed in their zone, not the exam's.
 */
export function SlotCalendar({ code, zone, endsAt, refreshKey, current, onChoose }: Props) {
  const wide = useMediaQuery('(min-width: 40rem)');
  const locale = browserLocale();
  const now = useNow(60_000);
  const today = localDate(now, zone);
  const endMs = Date.parse(endsAt);
  const lastDate = localDate(endMs - 1, zone);
  const [picked, setPicked] = useState<CivilDate | null>(null);
  const date = clamp(picked ?? today, today, lastDate);
  const monday = weekStart(date);
  const days = useMemo(() => weekDays(monday, zone), [monday, zone]);
  const from = toRFC3339(days[0]!.start);
  const to = toRFC3339(days[6]!.end);
  const { state, retry, refetch } = useQuery(AvailableSlotsDocument, { code, from, to });

  const firstRefresh = useRef(refreshKey);
  useEffect(() => {
    if (refreshKey !== firstRefresh.current) refetch();
  }, [refreshKey, refetch]);

  const byDay = useMemo(() => {
    const map = new Map<CivilDate, Slot[]>();
    if (state.status !== 'done') return map;
    const sorted = [...state.data.availableSlots].sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
    for (const slot of sorted) {
      const key = localDate(Date.parse(slot.startsAt), zone);
      map.set(key, [...(map.get(key) ?? []), slot]);
    }
    return map;
  }, [state, zone]);

  const emptyWeek = state.status === 'done' && state.data.availableSlots.length === 0;
  const anyLeft = useAnySlotsLeft(code, endMs, emptyWeek, refreshKey);
  useEffect(() => {
    if (state.status === 'error' && describeError(state.error).sessionEnded) endSession();
  }, [state]);

  const step = wide ? 7 : 1;
  const canGoBack = wide ? monday > weekStart(today) : date > today;
  const canGoOn = wide ? days[6]!.end < endMs : date < lastDate;
  const go = (days: number) => setPicked(addDays(wide ? monday : date, days));
  const unit = wide ? 'week' : 'day';
  const label = wide ? weekLabel(days, locale, zone) : formatDay(days.find((d) => d.date === date)!.start, locale, zone, true);
  const slot = (s: Slot) => (
    <SlotButton key={s.startsAt} slot={s} locale={locale} zone={zone} current={current} onChoose={onChoose} />
  );

  let body;
  if (state.status === 'loading') {
    body = <p className="loading">Loading open times…</p>;
  } else if (state.status === 'error') {
    body = (
      <ErrorMessage problem={describeError(state.error)}>
        <button type="button" className="button" onClick={retry}>
          Retry
        </button>
      </ErrorMessage>
    );
  } else if (emptyWeek && anyLeft === false) {
    body = (
      <p className="empty" data-testid="no-slots">
        No open slots before your eligibility ends on {formatInstant(endsAt, locale, zone)}: contact support.
      </p>
    );
  } else if (wide && emptyWeek) {
    body = <Empty text="No open times this week." next={canGoOn ? () => go(7) : null} unit="week" />;
  } else if (wide) {
    body = (
      <ol className="week">
        {days.map((d) => (
          <li key={d.date} className="week-day">
            <h3>
              <time dateTime={d.date}>{formatDay(d.start, locale, zone)}</time>
            </h3>
            {(byDay.get(d.date)?.length ?? 0) > 0 ? (
              <ul className="slots">{byDay.get(d.date)!.map(slot)}</ul>
            ) : (
              <p className="note">{d.date < today ? 'Past' : 'No times'}</p>
            )}
          </li>
        ))}
      </ol>
    );
  } else {
    const list = byDay.get(date) ?? [];
    body =
      list.length > 0 ? (
        <ul className="slots day-list">{list.map(slot)}</ul>
      ) : (
        <Empty text="No open times on this day." next={canGoOn ? () => go(1) : null} unit="day" />
      );
  }

  return (
    <section className="calendar" data-testid="calendar" data-from={from} aria-busy={state.status === 'loading'}>
      <div className="calendar-nav">
        <button type="button" className="button secondary prev" disabled={!canGoBack} onClick={() => go(-step)}>
          Previous {unit}
        </button>
        <h2 aria-live="polite">{label}</h2>
        <button type="button" className="button secondary next" disabled={!canGoOn} onClick={() => go(step)}>
          Next {unit}
        </button>
      </div>
      <p className="note">Times are shown in {zone.replaceAll('_', ' ')}.</p>
      {body}
    </section>
  );
}

function SlotButton({ slot, locale, zone, current, onChoose }: { slot: Slot; locale: string; zone: string; current?: string; onChoose: (s: Slot) => void }) {
  const start = Date.parse(slot.startsAt);
  const mine = current !== undefined && Date.parse(current) === start;
  const seats = mine ? 'your booking' : slot.seatsLeft > 0 ? `${slot.seatsLeft} ${slot.seatsLeft === 1 ? 'seat' : 'seats'} left` : 'full';
  const time = formatTime(slot.startsAt, locale, zone);
  return (
    <li>
      <button
        type="button"
        className="slot"
        data-start={slot.startsAt}
        disabled={mine || slot.seatsLeft <= 0}
        // The column heading is not part of a button's name: say the day too.
        aria-label={`${formatDay(start, locale, zone, true)}, ${time}, ${seats}`}
        onClick={() => onChoose(slot)}
      >
        <span className="slot-time">{time}</span>
        <span className="slot-seats">{seats}</span>
      </button>
    </li>
  );
}

function Empty({ text, next, unit }: { text: string; next: (() => void) | null; unit: string }) {
  return (
    <div className="empty">
      <p>{text}</p>
      {next && (
        <button type="button" className="button" onClick={next}>
          Next {unit}
        </button>
      )}
    </div>
  );
}

function clamp(date: CivilDate, min: CivilDate, max: CivilDate): CivilDate {
  return date > max ? (max < min ? min : max) : date < min ? min : date;
}

function weekLabel(days: Day[], locale: string, zone: string): string {
  const format = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', year: 'numeric', timeZone: zone });
  return format.formatRange(days[0]!.start, days[6]!.start);
}

/**
 * Whether any slot is left between now and the eligibility end; asked only
 * when the shown week is empty, to tell "try next week" from "none at all".
 * null while unknown.
 */
function useAnySlotsLeft(code: string, endMs: number, enabled: boolean, refreshKey: number): boolean | null {
  const [result, setResult] = useState<{ key: string; any: boolean } | null>(null);
  const key = `${code}|${endMs}|${refreshKey}`;
  useEffect(() => {
    if (!enabled) return;
    const from = Date.now();
    const to = Math.min(endMs, from + MAX_RANGE_MS);
    if (to <= from) {
      setResult({ key, any: false });
      return;
    }
    const controller = new AbortController();
    request(AvailableSlotsDocument, { code, from: toRFC3339(from), to: toRFC3339(to) }, { signal: controller.signal }).then(
      // Beyond the query's reach there may be more: only "none up to the end" counts.
      (data) => setResult({ key, any: data.availableSlots.length > 0 || to < endMs }),
      () => {}, // unknown: the page offers the next week as usual
    );
    return () => controller.abort();
  }, [key, code, endMs, enabled]);
  return result?.key === key ? result.any : null;
}
