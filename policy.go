package examgate

import (
	"fmt"
	"time"

	"github.com/examgate/examgate/i18n"
)

// Policy defaults, used for any setting left at zero in the catalog.
const (
	defaultCheckInBefore    = 30 * time.Minute
	defaultCheckInAfter     = 15 * time.Minute
	defaultCancelCutoff     = 24 * time.Hour
	defaultRescheduleCutoff = 24 * time.Hour
	defaultMaxReschedules   = 3
)

// WithDefaults returns p with every unset setting at its default. The parsed
// catalog keeps what the file said; the rules apply the defaults themselves.
func (p Policy) WithDefaults() Policy {
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&p.CheckInBefore, defaultCheckInBefore)
	def(&p.CheckInAfter, defaultCheckInAfter)
	def(&p.CancelCutoff, defaultCancelCutoff)
	def(&p.RescheduleCutoff, defaultRescheduleCutoff)
	if p.MaxReschedules == nil {
		n := defaultMaxReschedules
		p.MaxReschedules = &n
	}
	return p
}

// validate checks the settings the file gave; negative durations are already
// refused by Duration.
func (p Policy) validate() *fieldError {
	switch {
	case p.MaxReschedules != nil && (*p.MaxReschedules < 0 || *p.MaxReschedules > 100):
		return &fieldError{"maxReschedules", "must be between 0 and 100"}
	case p.CheckInBefore.D() > 24*time.Hour:
		return &fieldError{"checkInBefore", "must be at most 24h"}
	case p.CheckInAfter.D() > 24*time.Hour:
		return &fieldError{"checkInAfter", "must be at most 24h"}
	}
	return nil
}

// CheckInWindow is when Start is allowed: opens inclusive, closes exclusive.
func (p Policy) CheckInWindow(b *Booking) (opens, closes time.Time) {
	p = p.WithDefaults()
	return b.StartsAt.Add(-p.CheckInBefore.D()), b.StartsAt.Add(p.CheckInAfter.D())
}

// CanStart says whether the candidate may start the exam at now.
func (p Policy) CanStart(b *Booking, now time.Time) Decision {
	if d, ok := notPending(b); !ok {
		return d
	}
	opens, closes := p.CheckInWindow(b)
	switch {
	case now.Before(opens):
		return refusal(ENOTINCHECKIN, "Start opens %s before your exam.", humanDuration(p.WithDefaults().CheckInBefore.D()))
	case !now.Before(closes):
		return refusal(ENOTINCHECKIN, "The check-in window for this booking has closed. Contact support.")
	}
	return Decision{Allowed: true}
}

// CanCancel says whether the booking may be cancelled at now. The cutoff
// instant itself is still allowed, so "24 hours before" includes the 24th
// hour; the cutoff is absolute time, so a DST change does not move it.
func (p Policy) CanCancel(b *Booking, now time.Time) Decision {
	if d, ok := notPending(b); !ok {
		return d
	}
	cutoff := p.WithDefaults().CancelCutoff.D()
	if now.After(b.StartsAt.Add(-cutoff)) {
		return refusal(ECUTOFFPASSED, "Cancelling closes %s before your exam. Contact support to change it.", humanDuration(cutoff))
	}
	return Decision{Allowed: true}
}

// CanReschedule says whether the booking may be moved at now. The limit is
// checked first: unlike the cutoff, no other time would help.
func (p Policy) CanReschedule(b *Booking, now time.Time) Decision {
	if d, ok := notPending(b); !ok {
		return d
	}
	p = p.WithDefaults()
	if b.Reschedules >= *p.MaxReschedules {
		if *p.MaxReschedules == 0 {
			return refusal(ETOOMANYRESCHEDULES, "This booking cannot be moved. Contact support to change it.")
		}
		return refusal(ETOOMANYRESCHEDULES, "You have moved this booking the maximum of %s. Contact support to change it.", pluralize(*p.MaxReschedules, "time"))
	}
	cutoff := p.RescheduleCutoff.D()
	if now.After(b.StartsAt.Add(-cutoff)) {
		return refusal(ECUTOFFPASSED, "Rescheduling closes %s before your exam. Contact support to change it.", humanDuration(cutoff))
	}
	return Decision{Allowed: true}
}

// ReschedulesLeft is how many more times the booking may be moved.
func (p Policy) ReschedulesLeft(b *Booking) int {
	return max(0, *p.WithDefaults().MaxReschedules-b.Reschedules)
}

// IsNoShow reports whether a pending booking's check-in window has closed.
func IsNoShow(p Policy, b *Booking, now time.Time) bool {
	_, closes := p.CheckInWindow(b)
	return b.Status == BookingPending && !now.Before(closes)
}

// CanBook says whether the candidate may take the slot at now. slot is one
// that a.SlotAt returned, with Taken filled in; elig is the candidate's
// eligibility for the exam, nil when there is none.
func CanBook(a *Availability, elig *Eligibility, slot Slot, now time.Time) Decision {
	switch {
	case a == nil:
		return refusal(ECONFLICT, "This exam cannot be booked online. Contact support to arrange a time.")
	// An eligibility for another exam must not open this one.
	case elig == nil || elig.ExamCode != slot.ExamCode:
		return refusal(EOUTSIDEELIGIBILITY, "We have no record of your purchase of this exam. Open the exam from your course, or contact support.")
	case !elig.Active(now):
		return refusal(EOUTSIDEELIGIBILITY, "Your eligibility for this exam has ended. Contact support if you need more time.")
	case !slot.StartsAt.Before(elig.EndsAt):
		return refusal(EOUTSIDEELIGIBILITY, "This time is after your eligibility ends. Choose an earlier time.")
	case slot.StartsAt.Before(now.Add(a.LeadTime.D())):
		if a.LeadTime == 0 {
			return refusal(EOUTSIDEELIGIBILITY, "This time has already started. Choose a later time.")
		}
		return refusal(EOUTSIDEELIGIBILITY, "This time is too soon to book; choose a time at least %s from now.", humanDuration(a.LeadTime.D()))
	case slot.SeatsLeft() == 0:
		return refusal(ESLOTFULL, "This time slot is full. Choose another time.")
	}
	return Decision{Allowed: true}
}

// notPending refuses any action on a booking that is no longer pending.
func notPending(b *Booking) (Decision, bool) {
	switch b.Status {
	case BookingPending:
		return Decision{}, true
	case BookingStarted:
		return refusal(ECONFLICT, "This exam has already been started."), false
	case BookingCompleted:
		return refusal(ECONFLICT, "This exam is already completed."), false
	case BookingCancelled:
		return refusal(ECONFLICT, "This booking is already cancelled."), false
	case BookingNoShow:
		return refusal(ECONFLICT, "This booking was missed: the check-in window closed. Contact support."), false
	}
	return refusal(ECONFLICT, "This booking cannot be changed. Contact support."), false
}

// RulesIn words the policy for a learner in the language l, as the booking
// dialog does (frontend/src/booking/policy.ts): the emails say the same.
func (p Policy) RulesIn(l i18n.Lang) []string {
	p = p.WithDefaults()
	out := []string{l.T("rules.checkIn", durationIn(l, p.CheckInBefore.D()))}
	cancel, moves := durationIn(l, p.CancelCutoff.D()), *p.MaxReschedules
	switch {
	case moves == 0:
		out = append(out, l.T("rules.cancelNoMove", cancel))
	case p.CancelCutoff == p.RescheduleCutoff:
		out = append(out, l.T("rules.cancelOrMove", cancel, timesIn(l, moves)))
	default:
		out = append(out, l.T("rules.cancel", cancel), l.T("rules.move", durationIn(l, p.RescheduleCutoff.D()), timesIn(l, moves)))
	}
	return out
}

// LockedIn says in the language l, for a booking email sent at now, what
// the booking can no longer do: "" while it can still be cancelled and moved
// (or moving was never allowed and it can still be cancelled).
func (p Policy) LockedIn(l i18n.Lang, b *Booking, now time.Time) string {
	noCancel := !p.CanCancel(b, now).Allowed
	noMove := p.CanReschedule(b, now).Code == ECUTOFFPASSED
	switch {
	case noCancel && (noMove || *p.WithDefaults().MaxReschedules == 0):
		return l.T("locked.both")
	case noCancel:
		return l.T("locked.cancel")
	case noMove:
		return l.T("locked.move")
	}
	return ""
}

func timesIn(l i18n.Lang, n int) string {
	switch n {
	case 1:
		return l.T("times.1")
	case 2:
		return l.T("times.2")
	}
	return l.T("times.n", n)
}

func refusal(code, format string, args ...any) Decision {
	return Decision{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// humanDuration renders a policy duration for a learner: "24 hours",
// "90 minutes"; whole hours read best as hours, anything else as minutes.
func humanDuration(d time.Duration) string { return durationIn(i18n.English, d) }

func durationIn(l i18n.Lang, d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return l.N("unit.hours", int(d/time.Hour))
	case d%time.Minute == 0:
		return l.N("unit.minutes", int(d/time.Minute))
	}
	return l.N("unit.seconds", int(d/time.Second))
}

func pluralize(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
