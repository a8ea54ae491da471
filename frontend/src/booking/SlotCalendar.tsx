import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { AvailableSlotsQuery } from '../gql/graphql';
import { request } from '../graphql/client';
import { useQuery } from '../graphql/useQuery';
import { endSession } from '../graphql/session';
import { useNow } from '../components/hooks';
import { ErrorMessage } from '../components/Messages';
import { addDays, firstDayOfWeek, localDate, toRFC3339, weekDays, weekStart, type CivilDate, type Day } from '../format/calendar';
import { browserLocale, dateFormat, formatDay, formatInstant, formatTime } from '../format/datetime';
import { zoneLabel } from '../format/timeZone';
import { describeError } from './errors';
import { AvailableSlotsDocument } from './operations';
import { groupByPart, moveIndex } from './slotGroups';

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
 * Open slots one day at a time, in a week strip that fits a phone: the
 * first available slot and a date field jump ahead, the day's times are
 * grouped by part of day, and each of the strip and the times is one Tab
 * stop moved through with the arrow keys. Days are the learner's days, in
 * their zone, and weeks start as their locale says.
 */
export function SlotCalendar({ code, zone, endsAt, refreshKey, current, onChoose }: Props) {
  const locale = browserLocale();
  const firstDay = firstDayOfWeek(locale);
  const now = useNow(60_000);
  const today = localDate(now, zone);
  const endMs = Date.parse(endsAt);
  const lastDate = localDate(endMs - 1, zone);
  const first = useFirstSlot(code, endMs, refreshKey);
  const [picked, setPicked] = useState<CivilDate | null>(null);
  // Until the learner picks a day, the day of the first open slot.
  const firstDate = first.slot ? localDate(Date.parse(first.slot.startsAt), zone) : null;
  const date = clamp(picked ?? firstDate ?? today, today, lastDate);
  const weekFirst = weekStart(date, firstDay);
  const days = useMemo(() => weekDays(weekFirst, zone), [weekFirst, zone]);
  const from = toRFC3339(days[0]!.start);
  const to = toRFC3339(days[6]!.end);
  const { state, retry, refetch } = useQuery(AvailableSlotsDocument, { code, from, to });

  const firstRefresh = useRef(refreshKey);
  useEffect(() => {
    if (refreshKey !== firstRefresh.current) refetch();
  }, [refreshKey, refetch]);
  useEffect(() => {
    if (state.status === 'error' && describeError(state.error).sessionEnded) endSession();
  }, [state]);

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

  const canGoBack = weekFirst > weekStart(today, firstDay);
  const canGoOn = days[6]!.end < endMs;
  const go = (n: number) => setPicked(addDays(date, n));
  const noneAtAll = first.slot === null && first.complete;
  const daySlots = byDay.get(date) ?? [];
  const laterThisWeek = days.find((d) => d.date > date && (byDay.get(d.date)?.length ?? 0) > 0);

  let body;
  if (noneAtAll) {
    body = (
      <p className="empty" data-testid="no-slots">
        No open slots before your eligibility ends on {formatInstant(endsAt, locale, zone)}: contact support.
      </p>
    );
  } else if (state.status === 'loading') {
    body = <p className="loading">Loading open times…</p>;
  } else if (state.status === 'error') {
    body = (
      <ErrorMessage problem={describeError(state.error)}>
        <button type="button" className="button" onClick={retry}>
          Retry
        </button>
      </ErrorMessage>
    );
  } else if (daySlots.length === 0) {
    body = (
      <div className="empty">
        <p>No open times on this day.</p>
        {laterThisWeek ? (
          <button type="button" className="button secondary" onClick={() => setPicked(laterThisWeek.date)}>
            Next day with open times
          </button>
        ) : (
          canGoOn && (
            <button type="button" className="button secondary" onClick={() => setPicked(addDays(weekFirst, 7))}>
              Next week
            </button>
          )
        )}
      </div>
    );
  } else {
    body = <DaySlots key={date} slots={daySlots} locale={locale} zone={zone} current={current} onChoose={onChoose} />;
  }

  return (
    <section className="calendar" data-testid="calendar" data-date={date} aria-busy={state.status === 'loading'}>
      <div className="calendar-tools">
        {first.slot && (
          <button type="button" className="button first-available" onClick={() => onChoose(first.slot!)}>
            First available: {formatDay(Date.parse(first.slot.startsAt), locale, zone)},{' '}
            {formatTime(first.slot.startsAt, locale, zone)}
          </button>
        )}
        <label className="date-jump">
          Go to date{' '}
          <input
            type="date"
            min={today}
            max={lastDate}
            value={date}
            onChange={(e) => e.target.value && setPicked(e.target.value)}
          />
        </label>
      </div>
      <div className="calendar-nav">
        <button type="button" className="button secondary prev" disabled={!canGoBack} onClick={() => go(-7)}>
          Previous week
        </button>
        <h2 aria-live="polite">{weekLabel(days, locale, zone)}</h2>
        <button type="button" className="button secondary next" disabled={!canGoOn} onClick={() => go(7)}>
          Next week
        </button>
      </div>
      <p className="note">Times are shown in {zoneLabel(zone)}.</p>
      <DayStrip
        days={days}
        date={date}
        locale={locale}
        zone={zone}
        counts={state.status === 'done' ? byDay : null}
        isOpen={(d) => d >= today && d <= lastDate}
        onPick={setPicked}
      />
      <h3 className="day-heading">{formatDay(days.find((d) => d.date === date)!.start, locale, zone, true)}</h3>
      {body}
    </section>
  );
}

interface DayStripProps {
  days: Day[];
  date: CivilDate;
  locale: string;
  zone: string;
  counts: Map<CivilDate, Slot[]> | null;
  isOpen: (date: CivilDate) => boolean;
  onPick: (date: CivilDate) => void;
}

/** The week's seven days with their number of open times; one Tab stop, arrows move. */
function DayStrip({ days, date, locale, zone, counts, isOpen, onPick }: DayStripProps) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const onKeyDown = (e: KeyboardEvent) => {
    const open = days.map((d, i) => (isOpen(d.date) ? i : -1)).filter((i) => i >= 0);
    const at = open.indexOf(days.findIndex((d) => d.date === date));
    const next = moveIndex(e.key, at, open.length);
    if (next === null || at < 0) return;
    e.preventDefault();
    const i = open[next]!;
    onPick(days[i]!.date);
    refs.current[i]?.focus();
  };
  const month = dateFormat(locale, { month: 'short', timeZone: zone });
  return (
    <div className="day-strip" role="group" aria-label="Days of the week" onKeyDown={onKeyDown}>
      {days.map((d, i) => {
        const n = counts?.get(d.date)?.length;
        const open = isOpen(d.date);
        return (
          <button
            key={d.date}
            ref={(el) => void (refs.current[i] = el)}
            type="button"
            className="day"
            aria-pressed={d.date === date}
            tabIndex={d.date === date ? 0 : -1}
            disabled={!open}
            onClick={() => onPick(d.date)}
          >
            <span className="day-name">{dateFormat(locale, { weekday: 'short', timeZone: zone }).format(d.start)}</span>{' '}
            <span className="day-number">{dateFormat(locale, { day: 'numeric', timeZone: zone }).format(d.start)}</span>{' '}
            <span className="day-month">{month.format(d.start)}</span>{' '}
            <span className="day-count">{!open ? '–' : n === undefined ? '…' : n === 0 ? 'none' : `${n} open`}</span>
          </button>
        );
      })}
    </div>
  );
}

interface DaySlotsProps {
  slots: Slot[];
  locale: string;
  zone: string;
  current?: string;
  onChoose: (slot: Slot) => void;
}

/** One day's times by part of day. All times are one Tab stop; arrows move through them. */
function DaySlots({ slots, locale, zone, current, onChoose }: DaySlotsProps) {
  const hour = dateFormat('en-US', { hour: 'numeric', hourCycle: 'h23', timeZone: zone });
  const groups = groupByPart(slots, (s) => Number(hour.format(Date.parse(s.startsAt))));
  const choosable = slots.filter((s) => !isMine(s, current) && s.seatsLeft > 0);
  const [active, setActive] = useState(choosable[0]?.startsAt ?? null);
  const container = useRef<HTMLDivElement>(null);

  const onKeyDown = (e: KeyboardEvent) => {
    const buttons = Array.from(container.current?.querySelectorAll<HTMLButtonElement>('button.slot:not(:disabled)') ?? []);
    const at = buttons.findIndex((b) => b === document.activeElement);
    if (at < 0) return;
    // Up and Down move by a row of the grid the focused time is in.
    const grid = buttons[at]!.closest('ul');
    const columns = grid ? getComputedStyle(grid).gridTemplateColumns.split(' ').length : 1;
    const next = moveIndex(e.key, at, buttons.length, columns);
    if (next === null) return;
    e.preventDefault();
    setActive(buttons[next]!.dataset.start ?? null);
    buttons[next]!.focus();
  };

  const dayName = formatDay(Date.parse(slots[0]!.startsAt), locale, zone, true);
  return (
    <div className="slot-groups" ref={container} onKeyDown={onKeyDown}>
      {groups.map((g) => (
        <div key={g.part} className="slot-group">
          <h4>{g.label}</h4>
          <ul className="slots" aria-label={`${dayName}, ${g.label.toLowerCase()}`}>
            {g.items.map((s) => (
              <SlotButton
                key={s.startsAt}
                slot={s}
                dayName={dayName}
                locale={locale}
                zone={zone}
                mine={isMine(s, current)}
                tabbable={s.startsAt === active}
                onChoose={onChoose}
              />
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}

const isMine = (s: Slot, current?: string) => current !== undefined && Date.parse(current) === Date.parse(s.startsAt);

interface SlotButtonProps {
  slot: Slot;
  dayName: string;
  locale: string;
  zone: string;
  mine: boolean;
  tabbable: boolean;
  onChoose: (s: Slot) => void;
}

function SlotButton({ slot, dayName, locale, zone, mine, tabbable, onChoose }: SlotButtonProps) {
  const seats = mine ? 'your booking' : slot.seatsLeft > 0 ? `${slot.seatsLeft} left` : 'full';
  return (
    <li>
      <button
        type="button"
        className="slot"
        data-start={slot.startsAt}
        disabled={mine || slot.seatsLeft <= 0}
        tabIndex={tabbable ? 0 : -1}
        onClick={() => onChoose(slot)}
      >
        {/* The day is in the name for screen readers; the visible text stays whole in it (voice control). */}
        <span className="sr-only">{dayName}, </span>
        <span className="slot-time">{formatTime(slot.startsAt, locale, zone)}</span>{' '}
        <span className="slot-seats">{seats}</span>
      </button>
    </li>
  );
}

function clamp(date: CivilDate, min: CivilDate, max: CivilDate): CivilDate {
  return date > max ? (max < min ? min : max) : date < min ? min : date;
}

function weekLabel(days: Day[], locale: string, zone: string): string {
  const format = dateFormat(locale, { day: 'numeric', month: 'short', year: 'numeric', timeZone: zone });
  return format.formatRange(days[0]!.start, days[6]!.start);
}

/**
 * The first open slot from now to the eligibility end (or as far as one
 * query reaches): `slot` is undefined while unknown and null when there is
 * none; `complete` says the query reached the eligibility end, so that
 * null means none at all.
 */
function useFirstSlot(code: string, endMs: number, refreshKey: number): { slot: Slot | null | undefined; complete: boolean } {
  const [result, setResult] = useState<{ key: string; slot: Slot | null; complete: boolean } | null>(null);
  const key = `${code}|${endMs}|${refreshKey}`;
  useEffect(() => {
    const from = Date.now();
    const to = Math.min(endMs, from + MAX_RANGE_MS);
    if (to <= from) {
      setResult({ key, slot: null, complete: true });
      return;
    }
    const controller = new AbortController();
    request(AvailableSlotsDocument, { code, from: toRFC3339(from), to: toRFC3339(to), first: 1 }, { signal: controller.signal }).then(
      (data) => setResult({ key, slot: data.availableSlots[0] ?? null, complete: to >= endMs }),
      () => {}, // unknown: the page works without it
    );
    return () => controller.abort();
  }, [key, code, endMs]);
  return result?.key === key ? result : { slot: undefined, complete: false };
}
