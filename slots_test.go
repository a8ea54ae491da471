package examgate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// weekdaysOnly is Mon–Fri 09:00-12:00 in Amsterdam, 60-minute slots.
func weekdaysOnly() *examgate.Availability {
	hours := []string{"09:00-12:00"}
	return &examgate.Availability{
		TimeZone:    "Europe/Amsterdam",
		SlotMinutes: 60,
		Seats:       4,
		Weekly:      map[string][]string{"mon": hours, "tue": hours, "wed": hours, "thu": hours, "fri": hours},
	}
}

// checkSeries asserts that slots last one slot length each and that their
// starts strictly increase.
func checkSeries(t *testing.T, slots []examgate.Slot, length time.Duration) {
	t.Helper()
	for i, s := range slots {
		if got := s.EndsAt.Sub(s.StartsAt); got != length {
			t.Errorf("slot %d lasts %v, want %v", i, got, length)
		}
		if i > 0 && !slots[i-1].StartsAt.Before(s.StartsAt) {
			t.Errorf("slot %d at %v is not after slot %d at %v", i, s.StartsAt, i-1, slots[i-1].StartsAt)
		}
	}
}

func TestSlotsWeek(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	mon := time.Date(2026, 6, 1, 0, 0, 0, 0, ams) // a Monday
	week := mon.AddDate(0, 0, 7)
	cases := []struct {
		name       string
		weekly     map[string][]string // replaces the Mon–Fri hours when set
		exceptions []examgate.Exception
		minutes    int
		want       int
	}{
		{name: "ordinary week", want: 15},
		{name: "closed Wednesday", exceptions: []examgate.Exception{{Date: "2026-06-03", Closed: true}}, want: 12},
		{name: "extra Saturday hours", exceptions: []examgate.Exception{{Date: "2026-06-06", Hours: []string{"10:00-12:00"}}}, want: 17},
		{name: "extra hours after weekly ones", exceptions: []examgate.Exception{{Date: "2026-06-02", Hours: []string{"13:00-15:00"}}}, want: 17},
		{name: "closed date outside the range", exceptions: []examgate.Exception{{Date: "2026-06-08", Closed: true}}, want: 15},
		{name: "touching windows", weekly: map[string][]string{"mon": {"10:00-11:00", "09:00-10:00"}}, minutes: 30, want: 4},
		{name: "window shorter than a slot", weekly: map[string][]string{"mon": {"09:00-09:45"}}, want: 0},
		{name: "last slot must fit", weekly: map[string][]string{"mon": {"09:00-11:30"}}, want: 2},
		{name: "until midnight", weekly: map[string][]string{"sun": {"22:00-24:00"}}, want: 2},
		// The catalog refuses these; built in code, a start is still listed once.
		{name: "overlapping windows", weekly: map[string][]string{"mon": {"09:00-11:00", "10:00-12:00"}}, want: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := weekdaysOnly()
			if tc.weekly != nil {
				a.Weekly = tc.weekly
			}
			if tc.minutes != 0 {
				a.SlotMinutes = tc.minutes
			}
			a.Exceptions = tc.exceptions
			slots := a.Slots("X-1", mon, week)
			if len(slots) != tc.want {
				t.Fatalf("got %d slots, want %d: %v", len(slots), tc.want, slots)
			}
			checkSeries(t, slots, time.Duration(a.SlotMinutes)*time.Minute)
			for _, s := range slots {
				if s.ExamCode != "X-1" || s.Seats != 4 || s.Taken != 0 || s.StartsAt.Location() != time.UTC {
					t.Fatalf("slot %+v", s)
				}
			}
		})
	}

	// The first ordinary slot: Monday 09:00 CEST is 07:00 UTC.
	first := weekdaysOnly().Slots("X-1", mon, week)[0]
	if want := time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC); !first.StartsAt.Equal(want) || !first.EndsAt.Equal(want.Add(time.Hour)) {
		t.Fatalf("first slot %v-%v, want %v", first.StartsAt, first.EndsAt, want)
	}
}

// On DST days a 00:00-04:00 window holds the hours that really pass: 3 when
// clocks spring forward, 5 when they fall back, one slot per absolute hour.
func TestSlotsDST(t *testing.T) {
	cases := []struct {
		zone       string
		y, m, d    int
		want       int
		firstStart time.Time
	}{
		{"America/New_York", 2026, 3, 8, 3, time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC)},
		{"America/New_York", 2026, 11, 1, 5, time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)},
		{"Europe/Amsterdam", 2026, 3, 29, 3, time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC)},
		{"Europe/Amsterdam", 2026, 10, 25, 5, time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %d-%02d-%02d", tc.zone, tc.y, tc.m, tc.d), func(t *testing.T) {
			loc := mustLoc(t, tc.zone)
			a := &examgate.Availability{TimeZone: tc.zone, SlotMinutes: 60, Seats: 1, Weekly: map[string][]string{"sun": {"00:00-04:00"}}}
			day := time.Date(tc.y, time.Month(tc.m), tc.d, 0, 0, 0, 0, loc)
			if day.Weekday() != time.Sunday {
				t.Fatalf("%v is not a Sunday", day)
			}
			slots := a.Slots("X", day, time.Date(tc.y, time.Month(tc.m), tc.d+1, 0, 0, 0, 0, loc))
			if len(slots) != tc.want {
				t.Fatalf("got %d slots, want %d: %v", len(slots), tc.want, slots)
			}
			if !slots[0].StartsAt.Equal(tc.firstStart) {
				t.Fatalf("first slot at %v, want %v", slots[0].StartsAt, tc.firstStart)
			}
			checkSeries(t, slots, time.Hour)
			for i := 1; i < len(slots); i++ {
				if gap := slots[i].StartsAt.Sub(slots[i-1].StartsAt); gap != time.Hour {
					t.Fatalf("slots %d and %d are %v apart, want 1h", i-1, i, gap)
				}
			}
			// The window ends at 04:00 local, whatever the offset then.
			if end := time.Date(tc.y, time.Month(tc.m), tc.d, 4, 0, 0, 0, loc); !slots[len(slots)-1].EndsAt.Equal(end) {
				t.Fatalf("last slot ends %v, want %v", slots[len(slots)-1].EndsAt, end)
			}
		})
	}
}

// Boundaries on a wall time that does not exist, or exists twice, are the
// first instant the clock reads that time or later. time.Date alone moves
// 02:30 back to 01:30 EST in New York but forward to 03:30 CEST in Amsterdam;
// either would put slots outside their window or make windows overlap.
func TestSlotsDSTBoundaries(t *testing.T) {
	utc := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, time.UTC) }
	cases := []struct {
		name   string
		zone   string
		day    [3]int
		hours  []string
		starts []time.Time
	}{
		{
			name: "start in the gap opens when the clock jumps", zone: "America/New_York", day: [3]int{2026, 3, 8},
			hours:  []string{"02:30-04:00"},
			starts: []time.Time{utc(3, 8, 7, 0), utc(3, 8, 7, 30)}, // 03:00 and 03:30 EDT
		},
		{
			name: "end in the gap closes when the clock jumps", zone: "America/New_York", day: [3]int{2026, 3, 8},
			hours:  []string{"01:00-02:30", "03:00-04:00"},
			starts: []time.Time{utc(3, 8, 6, 0), utc(3, 8, 6, 30), utc(3, 8, 7, 0), utc(3, 8, 7, 30)},
		},
		{
			name: "start in the gap, Amsterdam", zone: "Europe/Amsterdam", day: [3]int{2026, 3, 29},
			hours:  []string{"00:00-02:30", "02:30-04:00"},
			starts: []time.Time{utc(3, 28, 23, 0), utc(3, 28, 23, 30), utc(3, 29, 0, 0), utc(3, 29, 0, 30), utc(3, 29, 1, 0), utc(3, 29, 1, 30)},
		},
		{
			// Both windows meet at the first 01:30 EDT; the repeated hour
			// belongs to the second one.
			name: "touching in the repeated hour", zone: "America/New_York", day: [3]int{2026, 11, 1},
			hours: []string{"00:00-01:30", "01:30-02:00"},
			starts: []time.Time{utc(11, 1, 4, 0), utc(11, 1, 4, 30), utc(11, 1, 5, 0), // 00:00-01:30 EDT
				utc(11, 1, 5, 30), utc(11, 1, 6, 0), utc(11, 1, 6, 30)}, // 01:30 EDT to 02:00 EST
		},
		{
			name: "touching in the repeated hour, Amsterdam", zone: "Europe/Amsterdam", day: [3]int{2026, 10, 25},
			hours:  []string{"01:30-02:30", "02:30-03:00"},
			starts: []time.Time{utc(10, 24, 23, 30), utc(10, 25, 0, 0), utc(10, 25, 0, 30), utc(10, 25, 1, 0), utc(10, 25, 1, 30)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoc(t, tc.zone)
			a := &examgate.Availability{TimeZone: tc.zone, SlotMinutes: 30, Seats: 1, Weekly: map[string][]string{"sun": tc.hours}}
			from := time.Date(tc.day[0], time.Month(tc.day[1]), tc.day[2], 0, 0, 0, 0, loc)
			slots := a.Slots("X", from, from.Add(30*time.Hour))
			got := make([]time.Time, len(slots))
			for i, s := range slots {
				got[i] = s.StartsAt
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.starts) {
				t.Fatalf("starts\n got %v\nwant %v", got, tc.starts)
			}
			checkSeries(t, slots, 30*time.Minute)
		})
	}
}

func TestSlots90Days(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	a := weekdaysOnly()
	a.Exceptions = []examgate.Exception{
		{Date: "2026-01-06", Closed: true},                   // a Tuesday: -3
		{Date: "2026-01-10", Hours: []string{"10:00-12:00"}}, // a Saturday: +2
		{Date: "2026-03-29", Hours: []string{"01:00-04:00"}}, // the spring-forward Sunday, 2 real hours: +2
		{Date: "2026-04-06", Hours: []string{"13:00-14:00"}}, // after the range: 0
	}
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, ams) // a Monday
	to := from.AddDate(0, 0, 90)                   // 2026-04-05 00:00 CEST, a Sunday
	// 90 days are 12 weeks plus Mon–Sat: 65 weekdays of 3 slots = 195,
	// then -3 +2 +2 from the exceptions.
	slots := a.Slots("X", from, to)
	if want := 195 - 3 + 2 + 2; len(slots) != want {
		t.Fatalf("got %d slots, want %d", len(slots), want)
	}
	checkSeries(t, slots, time.Hour)
	if !slots[0].StartsAt.Equal(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("first slot at %v", slots[0].StartsAt)
	}
	// Weekly hours keep their wall-clock time on both sides of the change.
	for _, s := range slots {
		local := s.StartsAt.In(ams)
		if wd := local.Weekday(); wd >= time.Monday && wd <= time.Friday && (local.Hour() < 9 || local.Hour() > 11 || local.Minute() != 0) {
			t.Fatalf("weekday slot outside 09:00-12:00: %v", local)
		}
	}
	if got := slots[len(slots)-1].StartsAt.In(ams).Format("2006-01-02 15:04 MST"); got != "2026-04-03 11:00 CEST" {
		t.Fatalf("last slot at %s", got)
	}
}

func TestSlotsBounds(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	a := weekdaysOnly()
	monTen := time.Date(2026, 6, 1, 10, 0, 0, 0, ams)
	tueTen := time.Date(2026, 6, 2, 10, 0, 0, 0, ams)
	slots := a.Slots("X", monTen, tueTen)
	// [from, to): Mon 10:00 and 11:00, Tue 09:00; not Tue 10:00.
	if len(slots) != 3 || !slots[0].StartsAt.Equal(monTen) || !slots[2].StartsAt.Equal(tueTen.Add(-time.Hour)) {
		t.Fatalf("got %v", slots)
	}
	if got := a.Slots("X", monTen.Add(time.Second), tueTen.Add(time.Second)); len(got) != 3 || !got[0].StartsAt.Equal(monTen.Add(time.Hour)) {
		t.Fatalf("shifted by a second: %v", got)
	}
	if got := a.Slots("X", tueTen, monTen); got != nil {
		t.Fatalf("to before from: %v", got)
	}
	if got := a.Slots("X", monTen, monTen); got != nil {
		t.Fatalf("empty range: %v", got)
	}

	// A range over 400 days is cut to 400.
	allDay := []string{"00:00-24:00"}
	utc := &examgate.Availability{TimeZone: "UTC", SlotMinutes: 600, Seats: 1, Weekly: map[string][]string{
		"mon": allDay, "tue": allDay, "wed": allDay, "thu": allDay, "fri": allDay, "sat": allDay, "sun": allDay,
	}}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	long := utc.Slots("X", from, from.AddDate(10, 0, 0))
	// 600-minute slots fit twice in each day (00:00, 10:00).
	if len(long) != 800 || !long[len(long)-1].StartsAt.Before(from.Add(400*24*time.Hour)) {
		t.Fatalf("got %d slots, last %v", len(long), long[len(long)-1].StartsAt)
	}
}

func TestSlotAt(t *testing.T) {
	ams := mustLoc(t, "Europe/Amsterdam")
	ny := mustLoc(t, "America/New_York")
	a := weekdaysOnly()
	a.Exceptions = []examgate.Exception{{Date: "2026-06-03", Closed: true}}
	cases := []struct {
		name  string
		start time.Time
		want  bool
	}{
		{"slot start", time.Date(2026, 6, 1, 9, 0, 0, 0, ams), true},
		{"same instant in another zone", time.Date(2026, 6, 1, 4, 0, 0, 0, ny), true},
		{"last slot", time.Date(2026, 6, 1, 11, 0, 0, 0, ams), true},
		{"window end", time.Date(2026, 6, 1, 12, 0, 0, 0, ams), false},
		{"between starts", time.Date(2026, 6, 1, 9, 30, 0, 0, ams), false},
		{"a nanosecond late", time.Date(2026, 6, 1, 9, 0, 0, 1, ams), false},
		{"closed date", time.Date(2026, 6, 3, 9, 0, 0, 0, ams), false},
		{"weekend", time.Date(2026, 6, 6, 9, 0, 0, 0, ams), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := a.SlotAt("X", tc.start)
			if ok != tc.want {
				t.Fatalf("SlotAt = %v, want %v", ok, tc.want)
			}
			if ok && (!s.StartsAt.Equal(tc.start) || s.EndsAt.Sub(s.StartsAt) != time.Hour || s.Seats != 4 || s.ExamCode != "X") {
				t.Fatalf("slot %+v", s)
			}
		})
	}
}

// catalogWith is a one-exam catalog with extra keys in the exam's mapping.
func catalogWith(extra string) []byte {
	return []byte(`exams: [{code: A, title: x, eligibilityDays: 9, ti: {courseIds: [c]}, ` + extra + `}]`)
}

func TestCatalogAvailabilityErrors(t *testing.T) {
	const ok = `timeZone: Europe/Amsterdam, slotMinutes: 60, seats: 1`
	cases := map[string]string{
		`availability: {}`: `exam "A": availability.timeZone: set an IANA time zone`,
		`availability: {timeZone: Mars/Olympus, slotMinutes: 60, seats: 1}`:                                                `exam "A": availability.timeZone: "Mars/Olympus" is not an IANA time zone`,
		`availability: {timeZone: Local, slotMinutes: 60, seats: 1}`:                                                       `availability.timeZone`,
		`availability: {timeZone: UTC, slotMinutes: 0, seats: 1}`:                                                          `exam "A": availability.slotMinutes: must be between 5 and 600`,
		`availability: {timeZone: UTC, slotMinutes: 601, seats: 1}`:                                                        `availability.slotMinutes`,
		`availability: {timeZone: UTC, slotMinutes: 60, seats: 0}`:                                                         `exam "A": availability.seats: must be between 1 and 10000`,
		`availability: {timeZone: UTC, slotMinutes: 60, seats: 10001}`:                                                     `availability.seats`,
		`availability: {` + ok + `, weekly: {funday: ["09:00-12:00"]}}`:                                                    `exam "A": availability.weekly: "funday" is not a day`,
		`availability: {` + ok + `, weekly: {Mon: ["09:00-12:00"]}}`:                                                       `availability.weekly: "Mon" is not a day`,
		`availability: {` + ok + `, weekly: {mon: ["9-12"]}}`:                                                              `exam "A": availability.weekly.mon: "9-12" is not a range`,
		`availability: {` + ok + `, weekly: {mon: ["12:00-09:00"]}}`:                                                       `availability.weekly.mon: "12:00-09:00" must end after it starts`,
		`availability: {` + ok + `, weekly: {mon: ["09:00-09:00"]}}`:                                                       `availability.weekly.mon: "09:00-09:00" must end after it starts`,
		`availability: {` + ok + `, weekly: {tue: ["22:00-24:30"]}}`:                                                       `availability.weekly.tue: "22:00-24:30" has a time outside`,
		`availability: {` + ok + `, weekly: {tue: ["09:60-10:00"]}}`:                                                       `availability.weekly.tue: "09:60-10:00" has a time outside`,
		`availability: {` + ok + `, weekly: {wed: ["13:00-17:00", "09:00-12:00", "11:00-13:00"]}}`:                         `exam "A": availability.weekly.wed: 09:00-12:00 and 11:00-13:00 overlap`,
		`availability: {` + ok + `, exceptions: [{date: "2026-02-30", closed: true}]}`:                                     `exam "A": availability.exceptions[0].date: "2026-02-30" is not a date`,
		`availability: {` + ok + `, exceptions: [{date: "25/12/2026", closed: true}]}`:                                     `availability.exceptions[0].date`,
		`availability: {` + ok + `, exceptions: [{date: "2026-12-25", closed: true, hours: ["09:00-10:00"]}]}`:             `exam "A": availability.exceptions[0]: 2026-12-25 is both closed and given hours`,
		`availability: {` + ok + `, exceptions: [{date: "2026-12-25"}]}`:                                                   `availability.exceptions[0]: 2026-12-25 changes nothing`,
		`availability: {` + ok + `, exceptions: [{date: "2026-12-24", closed: true}, {date: "2026-12-24", closed: true}]}`: `availability.exceptions[1].date: 2026-12-24 appears twice`,
		`availability: {` + ok + `, exceptions: [{date: "2026-12-24", hours: ["9-10"]}]}`:                                  `availability.exceptions[0].hours: "9-10" is not a range`,
		// 2026-12-24 is a Thursday.
		`availability: {` + ok + `, weekly: {thu: ["09:00-12:00"]}, exceptions: [{date: "2026-12-24", hours: ["11:00-14:00"]}]}`: `availability.exceptions[0].hours: 11:00-14:00 overlaps the weekly thu hours 09:00-12:00`,
	}
	for in, want := range cases {
		_, err := examgate.ParseCatalog(catalogWith(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n err = %v\nwant it to contain %q", in, err, want)
		}
	}
}

func TestCatalogAvailabilityValid(t *testing.T) {
	c, err := examgate.ParseCatalog(catalogWith(`availability: {timeZone: America/New_York, slotMinutes: 5, seats: 10000,
		leadTime: 2h, weekly: {mon: ["00:00-09:00", "09:00-24:00"], sun: []},
		exceptions: [{date: "2026-12-24", hours: ["09:00-10:00"]}, {date: "2026-12-25", closed: true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.Exam("A")
	if got := e.Availability.Location().String(); got != "America/New_York" {
		t.Fatalf("Location = %s", got)
	}
	if e.Availability.LeadTime.D() != 2*time.Hour {
		t.Fatalf("leadTime = %v", e.Availability.LeadTime.D())
	}

	c, err = examgate.ParseCatalog(catalogWith(`policy: {}`))
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := c.Exam("A"); e.Availability != nil {
		t.Fatalf("availability = %+v, want nil (not bookable)", e.Availability)
	}

	if _, err := examgate.LoadCatalog("cmd/examgate/demo-exams.yaml"); err != nil {
		t.Fatalf("demo catalog: %v", err)
	}
}
