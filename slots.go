package examgate

import (
	"slices"
	"time"
)

// maxSlotRange bounds the work of one Slots call; no screen needs more.
const maxSlotRange = 400 * 24 * time.Hour

// Slots returns every slot of the exam whose start is in [from, to), in
// ascending order, with Seats set and Taken zero for the caller to fill from
// bookings. Times are in UTC. A range longer than 400 days is cut to 400.
//
// DST rule: opening hours are wall-clock times in the exam's zone, but slots
// are cut in absolute time. Each window's start and end become instants (an
// end of 24:00 is the next day's 00:00) and slots step from the start by
// slotMinutes while they end by the window's end. So a 00:00-04:00 window
// holds 3 hours of slots on a spring-forward day (no slot at a wall time that
// does not exist) and 5 on a fall-back day (the repeated hour gives two
// distinct slots): no hour is ever lost or doubled. A boundary becomes the
// first instant at which the local clock reads that time or later (see
// wallInstant), so windows that touch on the clock touch in absolute time
// too and never overlap; slots with the same start are still kept once.
func (a *Availability) Slots(examCode string, from, to time.Time) []Slot {
	if a == nil || a.SlotMinutes <= 0 {
		return nil
	}
	if to.Sub(from) > maxSlotRange {
		to = from.Add(maxSlotRange)
	}
	if !from.Before(to) {
		return nil
	}
	loc := a.Location()
	length := time.Duration(a.SlotMinutes) * time.Minute
	weekly := map[string][]dayWindow{}
	for day, ranges := range a.Weekly {
		weekly[day] = parseWindows(ranges)
	}
	exceptions := make(map[string]*Exception, len(a.Exceptions))
	for i := range a.Exceptions {
		exceptions[a.Exceptions[i].Date] = &a.Exceptions[i]
	}

	var slots []Slot
	// A day more on each side: a window of one local date can start or end
	// on a neighbouring date once gap boundaries are moved.
	last := civilDate(to.In(loc)).AddDate(0, 0, 1)
	for d := civilDate(from.In(loc)).AddDate(0, 0, -1); !d.After(last); d = d.AddDate(0, 0, 1) {
		windows := weekly[weekdays[d.Weekday()]]
		if x := exceptions[d.Format(dateLayout)]; x != nil {
			if x.Closed {
				continue
			}
			windows = append(slices.Clone(windows), parseWindows(x.Hours)...)
		}
		for _, w := range windows {
			start, end := wallInstant(d, w.start, loc), wallInstant(d, w.end, loc)
			for t := start; !t.Add(length).After(end); t = t.Add(length) {
				if !t.Before(to) {
					break
				}
				if t.Before(from) {
					continue
				}
				slots = append(slots, Slot{
					ExamCode: examCode,
					StartsAt: t.UTC(),
					EndsAt:   t.Add(length).UTC(),
					Seats:    a.Seats,
				})
			}
		}
	}
	slices.SortFunc(slots, func(x, y Slot) int { return x.StartsAt.Compare(y.StartsAt) })
	return slices.CompactFunc(slots, func(x, y Slot) bool { return x.StartsAt.Equal(y.StartsAt) })
}

// SlotAt returns the slot that starts exactly at start, if there is one.
func (a *Availability) SlotAt(examCode string, start time.Time) (Slot, bool) {
	slots := a.Slots(examCode, start, start.Add(time.Nanosecond))
	if len(slots) == 0 || !slots[0].StartsAt.Equal(start) {
		return Slot{}, false
	}
	return slots[0], true
}

// wallInstant is the first instant at which the clock in loc reads the given
// minutes after midnight of date, or later. time.Date alone is not enough:
// for a wall time in a spring-forward gap or a repeated fall-back hour it may
// pick an instant either side, depending on the zone, which could put a slot
// before its window opens or make touching windows overlap. This rule gives
// the moment the clock jumps for a gap and the first occurrence for a repeat.
func wallInstant(date time.Time, minutes int, loc *time.Location) time.Time {
	// Minutes past 59 normalise, so 1440 is the next day's midnight.
	wall := time.Date(date.Year(), date.Month(), date.Day(), 0, minutes, 0, 0, time.UTC)
	guess := time.Date(date.Year(), date.Month(), date.Day(), 0, minutes, 0, 0, loc)
	// The wall time can only be read under the offset at guess or that of
	// the zone just before or after it.
	zoneStart, zoneEnd := guess.ZoneBounds()
	probes := []time.Time{guess}
	if !zoneStart.IsZero() {
		probes = append(probes, zoneStart.Add(-time.Second))
	}
	if !zoneEnd.IsZero() {
		probes = append(probes, zoneEnd)
	}
	var first time.Time
	for _, p := range probes {
		_, offset := p.Zone()
		t := wall.Add(-time.Duration(offset) * time.Second).In(loc)
		if _, o := t.Zone(); o == offset && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if !first.IsZero() {
		return first
	}
	// A gap: the clock jumps over the wall time when guess's zone starts if
	// guess reads later than asked, else when it ends.
	if y, mo, d := guess.Date(); time.Date(y, mo, d, guess.Hour(), guess.Minute(), 0, 0, time.UTC).After(wall) {
		return zoneStart
	}
	return zoneEnd
}

// civilDate is t's calendar date as midnight UTC, so that stepping by days
// is never disturbed by DST.
func civilDate(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// parseWindows reads ranges already checked by validate; an invalid one (in an
// Availability built in code) is skipped rather than guessed at.
func parseWindows(ranges []string) []dayWindow {
	windows := make([]dayWindow, 0, len(ranges))
	for _, r := range ranges {
		if s, problem := parseRange(r); problem == "" {
			windows = append(windows, s)
		}
	}
	return windows
}
