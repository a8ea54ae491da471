package examgate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/i18n"
)

// checkDecision asserts d: code "" means allowed; reason is a substring.
func checkDecision(t *testing.T, d examgate.Decision, code, reason string) {
	t.Helper()
	if code == "" {
		if !d.Allowed || d.Code != "" || d.Reason != "" || d.Err() != nil {
			t.Fatalf("got %+v, want allowed", d)
		}
		return
	}
	if d.Allowed || d.Code != code || !strings.Contains(d.Reason, reason) || examgate.ErrorCode(d.Err()) != code {
		t.Fatalf("got %+v, want %s with a reason containing %q", d, code, reason)
	}
}

func ptr[T any](v T) *T { return &v }

var examStart = time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)

func pending(reschedules int) *examgate.Booking {
	return &examgate.Booking{ExamCode: "X", StartsAt: examStart, EndsAt: examStart.Add(time.Hour), Status: examgate.BookingPending, Reschedules: reschedules}
}

func TestPolicyDefaults(t *testing.T) {
	var zero examgate.Policy
	p := zero.WithDefaults()
	if p.CheckInBefore.D() != 30*time.Minute || p.CheckInAfter.D() != 15*time.Minute ||
		p.CancelCutoff.D() != 24*time.Hour || p.RescheduleCutoff.D() != 24*time.Hour ||
		p.MaxReschedules == nil || *p.MaxReschedules != 3 {
		t.Fatalf("defaults = %+v", p)
	}
	if zero.MaxReschedules != nil {
		t.Fatal("WithDefaults changed its receiver")
	}
	set := examgate.Policy{
		CheckInBefore: examgate.Duration(time.Hour), CheckInAfter: examgate.Duration(5 * time.Minute),
		CancelCutoff: examgate.Duration(90 * time.Minute), RescheduleCutoff: examgate.Duration(48 * time.Hour),
		MaxReschedules: ptr(0),
	}
	if got := set.WithDefaults(); got.CheckInBefore != set.CheckInBefore || got.CheckInAfter != set.CheckInAfter ||
		got.CancelCutoff != set.CancelCutoff || got.RescheduleCutoff != set.RescheduleCutoff || *got.MaxReschedules != 0 {
		t.Fatalf("set values = %+v", got)
	}

	// The catalog keeps what the file says; defaults come from WithDefaults.
	c, err := examgate.ParseCatalog(catalogWith(`policy: {cancelCutoff: 2h, maxReschedules: 0}`))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.Exam("A")
	if e.Policy.CheckInBefore != 0 || e.Policy.CancelCutoff.D() != 2*time.Hour || *e.Policy.MaxReschedules != 0 {
		t.Fatalf("parsed policy = %+v", e.Policy)
	}
	if p := e.Policy.WithDefaults(); p.CheckInBefore.D() != 30*time.Minute || *p.MaxReschedules != 0 {
		t.Fatalf("parsed policy with defaults = %+v", p)
	}
}

func TestCatalogPolicyErrors(t *testing.T) {
	cases := map[string]string{
		`policy: {maxReschedules: -1}`:  `exam "A": policy.maxReschedules: must be between 0 and 100`,
		`policy: {maxReschedules: 101}`: `exam "A": policy.maxReschedules: must be between 0 and 100`,
		`policy: {checkInBefore: 25h}`:  `exam "A": policy.checkInBefore: must be at most 24h`,
		`policy: {checkInAfter: 24h1s}`: `exam "A": policy.checkInAfter: must be at most 24h`,
		`policy: {cancelCutoff: -1h}`:   `is not a duration`,
	}
	for in, want := range cases {
		_, err := examgate.ParseCatalog(catalogWith(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to contain %q", in, err, want)
		}
	}
	if _, err := examgate.ParseCatalog(catalogWith(`policy: {maxReschedules: 100, checkInBefore: 24h, checkInAfter: 24h}`)); err != nil {
		t.Fatalf("limits are allowed: %v", err)
	}
}

func TestPolicyCheckIn(t *testing.T) {
	var p examgate.Policy
	opens, closes := p.CheckInWindow(pending(0))
	if !opens.Equal(examStart.Add(-30*time.Minute)) || !closes.Equal(examStart.Add(15*time.Minute)) {
		t.Fatalf("window %v-%v", opens, closes)
	}
	cases := []struct {
		name   string
		status examgate.BookingStatus
		now    time.Time
		code   string
		reason string
	}{
		{"a second before it opens", examgate.BookingPending, opens.Add(-time.Second), examgate.ENOTINCHECKIN, "Start opens 30 minutes before your exam."},
		{"as it opens", examgate.BookingPending, opens, "", ""},
		{"at the start", examgate.BookingPending, examStart, "", ""},
		{"just before it closes", examgate.BookingPending, closes.Add(-time.Nanosecond), "", ""},
		{"as it closes", examgate.BookingPending, closes, examgate.ENOTINCHECKIN, "The check-in window for this booking has closed. Contact support."},
		{"started", examgate.BookingStarted, examStart, examgate.ECONFLICT, "already been started"},
		{"cancelled", examgate.BookingCancelled, examStart, examgate.ECONFLICT, "already cancelled"},
		{"no-show", examgate.BookingNoShow, examStart, examgate.ECONFLICT, "Contact support"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := pending(0)
			b.Status = tc.status
			checkDecision(t, p.CanStart(b, tc.now), tc.code, tc.reason)
		})
	}

	custom := examgate.Policy{CheckInBefore: examgate.Duration(90 * time.Minute)}
	checkDecision(t, custom.CanStart(pending(0), examStart.Add(-91*time.Minute)), examgate.ENOTINCHECKIN, "Start opens 90 minutes before your exam.")
	checkDecision(t, custom.CanStart(pending(0), examStart.Add(-90*time.Minute)), "", "")
}

func TestPolicyNoShow(t *testing.T) {
	var p examgate.Policy
	_, closes := p.CheckInWindow(pending(0))
	started := pending(0)
	started.Status = examgate.BookingStarted
	cases := []struct {
		name string
		b    *examgate.Booking
		now  time.Time
		want bool
	}{
		{"pending, just before close", pending(0), closes.Add(-time.Nanosecond), false},
		{"pending, at close", pending(0), closes, true},
		{"pending, later", pending(0), closes.Add(48 * time.Hour), true},
		{"started, at close", started, closes, false},
	}
	for _, tc := range cases {
		if got := examgate.IsNoShow(p, tc.b, tc.now); got != tc.want {
			t.Errorf("%s: IsNoShow = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPolicyCancel(t *testing.T) {
	cutoff := examStart.Add(-24 * time.Hour)
	var p examgate.Policy
	cancelled := pending(0)
	cancelled.Status = examgate.BookingCancelled
	completed := pending(0)
	completed.Status = examgate.BookingCompleted
	cases := []struct {
		name   string
		p      examgate.Policy
		b      *examgate.Booking
		now    time.Time
		code   string
		reason string
	}{
		{"well before", p, pending(0), cutoff.Add(-72 * time.Hour), "", ""},
		{"at the cutoff", p, pending(0), cutoff, "", ""},
		{"a second after", p, pending(0), cutoff.Add(time.Second), examgate.ECUTOFFPASSED, "Cancelling closes 24 hours before your exam. Contact support to change it."},
		{"after the start", p, pending(0), examStart.Add(time.Hour), examgate.ECUTOFFPASSED, "24 hours"},
		{"90-minute cutoff, at it", examgate.Policy{CancelCutoff: examgate.Duration(90 * time.Minute)}, pending(0), examStart.Add(-90 * time.Minute), "", ""},
		{"90-minute cutoff, after", examgate.Policy{CancelCutoff: examgate.Duration(90 * time.Minute)}, pending(0), examStart.Add(-89 * time.Minute), examgate.ECUTOFFPASSED, "Cancelling closes 90 minutes before"},
		{"1-hour cutoff", examgate.Policy{CancelCutoff: examgate.Duration(time.Hour)}, pending(0), examStart, examgate.ECUTOFFPASSED, "closes 1 hour before"},
		{"already cancelled", p, cancelled, cutoff.Add(-time.Hour), examgate.ECONFLICT, "This booking is already cancelled."},
		{"completed", p, completed, cutoff.Add(-time.Hour), examgate.ECONFLICT, "already completed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkDecision(t, tc.p.CanCancel(tc.b, tc.now), tc.code, tc.reason)
		})
	}
}

func TestPolicyReschedule(t *testing.T) {
	cutoff := examStart.Add(-24 * time.Hour)
	early := cutoff.Add(-time.Hour)
	var p examgate.Policy
	started := pending(0)
	started.Status = examgate.BookingStarted
	cases := []struct {
		name   string
		p      examgate.Policy
		b      *examgate.Booking
		now    time.Time
		code   string
		reason string
	}{
		{"first move", p, pending(0), early, "", ""},
		{"max-1 moves made", p, pending(2), early, "", ""},
		{"max moves made", p, pending(3), early, examgate.ETOOMANYRESCHEDULES, "You have moved this booking the maximum of 3 times. Contact support to change it."},
		{"max moves made, past cutoff too", p, pending(3), examStart, examgate.ETOOMANYRESCHEDULES, "maximum of 3 times"},
		{"max 1", examgate.Policy{MaxReschedules: ptr(1)}, pending(1), early, examgate.ETOOMANYRESCHEDULES, "maximum of 1 time."},
		{"max 0", examgate.Policy{MaxReschedules: ptr(0)}, pending(0), early, examgate.ETOOMANYRESCHEDULES, "This booking cannot be moved. Contact support to change it."},
		{"at the cutoff", p, pending(0), cutoff, "", ""},
		{"a second after", p, pending(0), cutoff.Add(time.Second), examgate.ECUTOFFPASSED, "Rescheduling closes 24 hours before your exam. Contact support to change it."},
		{"48-hour cutoff", examgate.Policy{RescheduleCutoff: examgate.Duration(48 * time.Hour)}, pending(0), early, examgate.ECUTOFFPASSED, "closes 48 hours before"},
		{"started", p, started, early, examgate.ECONFLICT, "already been started"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkDecision(t, tc.p.CanReschedule(tc.b, tc.now), tc.code, tc.reason)
		})
	}

	left := []struct {
		p    examgate.Policy
		made int
		want int
	}{
		{p, 0, 3}, {p, 2, 1}, {p, 3, 0}, {p, 5, 0},
		{examgate.Policy{MaxReschedules: ptr(0)}, 0, 0},
		{examgate.Policy{MaxReschedules: ptr(10)}, 4, 6},
	}
	for _, tc := range left {
		if got := tc.p.ReschedulesLeft(pending(tc.made)); got != tc.want {
			t.Errorf("ReschedulesLeft after %d moves = %d, want %d", tc.made, got, tc.want)
		}
	}
}

// Cutoffs are absolute durations: across a DST change the wall clock of the
// cutoff moves, the number of hours before the exam does not.
func TestPolicyCutoffAcrossDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	cases := []struct {
		name   string
		starts time.Time
		cutoff time.Time
	}{
		// The day after the change: both instants are EDT, 09:00 → 09:00.
		{"2026-03-09 09:00 EDT", time.Date(2026, 3, 9, 9, 0, 0, 0, ny), time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC)},
		// Noon on the change day: 24 hours earlier is 11:00 EST the day before.
		{"2026-03-08 12:00 EDT", time.Date(2026, 3, 8, 12, 0, 0, 0, ny), time.Date(2026, 3, 7, 16, 0, 0, 0, time.UTC)},
		// Noon on the fall-back day: 24 hours earlier is 13:00 EDT the day before.
		{"2026-11-01 12:00 EST", time.Date(2026, 11, 1, 12, 0, 0, 0, ny), time.Date(2026, 10, 31, 17, 0, 0, 0, time.UTC)},
	}
	var p examgate.Policy
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &examgate.Booking{StartsAt: tc.starts, Status: examgate.BookingPending, TimeZone: "America/New_York"}
			checkDecision(t, p.CanCancel(b, tc.cutoff), "", "")
			checkDecision(t, p.CanCancel(b, tc.cutoff.Add(time.Second)), examgate.ECUTOFFPASSED, "24 hours")
			checkDecision(t, p.CanReschedule(b, tc.cutoff), "", "")
			checkDecision(t, p.CanReschedule(b, tc.cutoff.Add(time.Second)), examgate.ECUTOFFPASSED, "24 hours")
		})
	}
	if got := time.Date(2026, 3, 7, 16, 0, 0, 0, time.UTC).In(ny).Format("15:04 MST"); got != "11:00 EST" {
		t.Fatalf("cutoff on the clock: %s", got)
	}
}

func TestCanBook(t *testing.T) {
	now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	ends := time.Date(2026, 8, 30, 0, 0, 0, 0, time.UTC)
	elig := &examgate.Eligibility{ExamCode: "X", EndsAt: ends}
	other := &examgate.Eligibility{ExamCode: "Y", EndsAt: ends}
	lead := &examgate.Availability{LeadTime: examgate.Duration(2 * time.Hour)}
	noLead := &examgate.Availability{}
	slot := func(start time.Time, taken int) examgate.Slot {
		return examgate.Slot{ExamCode: "X", StartsAt: start, EndsAt: start.Add(time.Hour), Seats: 2, Taken: taken}
	}
	later := now.Add(72 * time.Hour)
	cases := []struct {
		name   string
		a      *examgate.Availability
		elig   *examgate.Eligibility
		slot   examgate.Slot
		now    time.Time
		code   string
		reason string
	}{
		{"bookable", lead, elig, slot(later, 1), now, "", ""},
		{"not bookable exam", nil, elig, slot(later, 0), now, examgate.ECONFLICT, "cannot be booked online"},
		{"no eligibility", lead, nil, slot(later, 0), now, examgate.EOUTSIDEELIGIBILITY, "We have no record of your purchase"},
		{"another exam's eligibility", lead, other, slot(later, 0), now, examgate.EOUTSIDEELIGIBILITY, "We have no record of your purchase"},
		{"eligibility ended", lead, elig, slot(later, 0), ends, examgate.EOUTSIDEELIGIBILITY, "Your eligibility for this exam has ended."},
		{"eligibility ends in a minute", noLead, elig, slot(ends.Add(-time.Minute), 0), ends.Add(-time.Minute), "", ""},
		{"slot starts as eligibility ends", lead, elig, slot(ends, 0), now, examgate.EOUTSIDEELIGIBILITY, "This time is after your eligibility ends. Choose an earlier time."},
		{"slot starts a minute before eligibility ends", lead, elig, slot(ends.Add(-time.Minute), 0), now, "", ""},
		{"exactly the lead time", lead, elig, slot(now.Add(2*time.Hour), 0), now, "", ""},
		{"a second inside the lead time", lead, elig, slot(now.Add(2*time.Hour-time.Second), 0), now, examgate.EOUTSIDEELIGIBILITY, "This time is too soon to book; choose a time at least 2 hours from now."},
		{"no lead time, starting now", noLead, elig, slot(now, 0), now, "", ""},
		{"no lead time, already started", noLead, elig, slot(now.Add(-time.Second), 0), now, examgate.EOUTSIDEELIGIBILITY, "This time has already started."},
		{"full", lead, elig, slot(later, 2), now, examgate.ESLOTFULL, "This time slot is full. Choose another time."},
		{"overfull", lead, elig, slot(later, 3), now, examgate.ESLOTFULL, "full"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkDecision(t, examgate.CanBook(tc.a, tc.elig, tc.slot, tc.now), tc.code, tc.reason)
		})
	}
}

// The rules read the same as the booking dialog's (frontend/src/booking/policy.test.ts).
func TestPolicyRules(t *testing.T) {
	h := func(d time.Duration) examgate.Duration { return examgate.Duration(d) }
	cases := []struct {
		p    examgate.Policy
		want []string
	}{
		{examgate.Policy{}, []string{
			"Start opens 30 minutes before the booked time.",
			"You can cancel or move it until 24 hours before it starts (move it at most 3 times).",
		}},
		{examgate.Policy{RescheduleCutoff: h(2 * time.Hour), MaxReschedules: ptr(1)}, []string{
			"Start opens 30 minutes before the booked time.",
			"You can cancel until 24 hours before it starts.",
			"You can move it until 2 hours before it starts, at most once.",
		}},
		{examgate.Policy{CheckInBefore: h(90 * time.Minute), MaxReschedules: ptr(0)}, []string{
			"Start opens 90 minutes before the booked time.",
			"You can cancel until 24 hours before it starts; it cannot be moved.",
		}},
	}
	for _, c := range cases {
		if got := c.p.RulesIn(i18n.English); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("Rules(%+v) =\n%q\nwant\n%q", c.p, got, c.want)
		}
	}
}

// A booking made inside a cutoff says so in its email.
func TestPolicyLocked(t *testing.T) {
	b := pending(0) // starts at examStart
	p := examgate.Policy{RescheduleCutoff: examgate.Duration(2 * time.Hour)}
	for _, c := range []struct {
		before time.Duration
		want   string
	}{
		{48 * time.Hour, ""},
		{3 * time.Hour, "It starts too soon to be cancelled."},
		{time.Hour, "It starts too soon to be cancelled or moved."},
	} {
		if got := p.LockedIn(i18n.English, b, examStart.Add(-c.before)); got != c.want {
			t.Errorf("%v before: %q, want %q", c.before, got, c.want)
		}
	}
	if got := (examgate.Policy{MaxReschedules: ptr(0)}).LockedIn(i18n.English, b, examStart.Add(-time.Hour)); got != "It starts too soon to be cancelled or moved." {
		t.Errorf("no moves allowed: %q", got)
	}
}
