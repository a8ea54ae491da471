package examgate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

// Monday 2026-11-30 08:30 UTC; the exam is open 09:00-17:00 UTC on weekdays.
var bookNow = time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC)

const bookingCatalog = `
exams:
  - code: EX-1
    title: Exam One
    eligibilityDays: 30
    ti: {courseIds: [c1]}
    availability:
      timeZone: UTC
      slotMinutes: 60
      seats: 3
      leadTime: 1h
      weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
    policy:
      maxReschedules: 2
      noShowEndsEligibility: true
`

type bookingEnv struct {
	store *db.DB
	svc   *examgate.Bookings
	now   *time.Time
	cands []int64
}

func newBookingEnv(t *testing.T, store *db.DB, candidates int) *bookingEnv {
	t.Helper()
	catalog, err := examgate.ParseCatalog([]byte(bookingCatalog))
	if err != nil {
		t.Fatal(err)
	}
	now := bookNow
	e := &bookingEnv{store: store, now: &now}
	e.svc = &examgate.Bookings{Store: store, Catalog: catalog, Clock: examgate.ClockFunc(func() time.Time { return *e.now })}
	for i := range candidates {
		c, err := store.CompleteLaunch(context.Background(), &examgate.LaunchRecord{
			TokenID: fmt.Sprintf("tok-%d", i), TokenExpiresAt: now.Add(time.Hour),
			Candidate: examgate.Candidate{ExternalID: fmt.Sprintf("ext-%d", i), Email: fmt.Sprintf("c%d@example.com", i)},
			Eligibility: examgate.Eligibility{ExamCode: "EX-1", CourseID: "c1", PurchasedAt: now.AddDate(0, 0, -1),
				EndsAt: now.AddDate(0, 0, 29), CheckedAt: now},
			Session: examgate.Session{TokenHash: fmt.Sprintf("s-%d", i), CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		})
		if err != nil {
			t.Fatal(err)
		}
		e.cands = append(e.cands, c.ID)
	}
	return e
}

func at(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

// key makes a client key, as the SPA does once per user action.
func key(parts ...any) string {
	k := "client-key"
	for _, p := range parts {
		k += fmt.Sprintf("-%v", p)
	}
	return k
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if examgate.ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func TestBookingLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newBookingEnv(t, store, 2)
		ada := e.cands[0]

		slots, err := e.svc.AvailableSlots(ctx, ada, "EX-1", at(30, 0), at(30, 0).Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		// 09:00 is before now + 1 h lead time; 10:00..16:00 remain.
		if len(slots) != 7 || !slots[0].StartsAt.Equal(at(30, 10)) {
			t.Fatalf("slots = %d, first %v", len(slots), slots[0].StartsAt)
		}
		if _, err := e.svc.Book(ctx, ada, "EX-1", at(30, 9), key(1)); examgate.ErrorCode(err) != examgate.EOUTSIDEELIGIBILITY {
			t.Fatalf("inside lead time: %v", err)
		}
		if _, err := e.svc.Book(ctx, ada, "EX-1", at(30, 10).Add(30*time.Minute), key(2)); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Fatalf("not a slot: %v", err)
		}

		b, err := e.svc.Book(ctx, ada, "EX-1", at(2+30, 10), key(3)) // 2 December
		if err != nil {
			t.Fatal(err)
		}
		if b.Status != examgate.BookingPending || !b.StartsAt.Equal(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)) {
			t.Fatalf("booking = %+v", b)
		}
		// A second booking for the same exam is refused.
		_, err = e.svc.Book(ctx, ada, "EX-1", time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), key(4))
		wantCode(t, err, examgate.ECONFLICT)

		// Someone else cannot touch it, nor learn that it exists.
		_, err = e.svc.Cancel(ctx, e.cands[1], b.ID, key(5))
		wantCode(t, err, examgate.ENOTFOUND)

		moved, err := e.svc.Reschedule(ctx, ada, b.ID, time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC), key(6))
		if err != nil {
			t.Fatal(err)
		}
		if moved.ID != b.ID || moved.Reschedules != 1 || !moved.StartsAt.Equal(time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)) {
			t.Fatalf("moved = %+v", moved)
		}
		taken, _ := store.SeatsTaken(ctx, "EX-1", at(30, 0), at(30, 0).AddDate(0, 0, 7))
		if len(taken) != 1 || taken[time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC).Unix()] != 1 {
			t.Fatalf("seats after reschedule = %v", taken)
		}

		// Start is refused outside the check-in window, allowed inside it.
		_, err = e.svc.Start(ctx, ada, b.ID, key(7))
		wantCode(t, err, examgate.ENOTINCHECKIN)
		*e.now = time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC)
		started, err := e.svc.Start(ctx, ada, b.ID, key(8))
		if err != nil || started.Status != examgate.BookingStarted {
			t.Fatalf("start: %+v %v", started, err)
		}
		// A started booking cannot be cancelled; a retried start answers the same.
		_, err = e.svc.Cancel(ctx, ada, b.ID, key(9))
		wantCode(t, err, examgate.ECONFLICT)
		again, err := e.svc.Start(ctx, ada, b.ID, key(8))
		if err != nil || again.Status != examgate.BookingStarted {
			t.Fatalf("retried start: %+v %v", again, err)
		}
	})
}

func TestCancelFreesSeatAndEmails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newBookingEnv(t, store, 1)
		start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		b, err := e.svc.Book(ctx, e.cands[0], "EX-1", start, key("b"))
		if err != nil {
			t.Fatal(err)
		}
		// The cutoff is 24 h: exactly at it cancelling is allowed.
		*e.now = start.Add(-24 * time.Hour)
		c, err := e.svc.Cancel(ctx, e.cands[0], b.ID, key("c"))
		if err != nil || c.Status != examgate.BookingCancelled {
			t.Fatalf("cancel: %+v %v", c, err)
		}
		taken, _ := store.SeatsTaken(ctx, "EX-1", start, start.Add(time.Hour))
		if taken[start.Unix()] != 0 {
			t.Fatalf("seat not freed: %v", taken)
		}
		jobs, err := store.Jobs(ctx, examgate.JobFilter{Kind: examgate.JobBookingEmail})
		if err != nil {
			t.Fatal(err)
		}
		var events []string
		for _, j := range jobs {
			var p examgate.BookingEmailJob
			if err := json.Unmarshal(j.Payload, &p); err != nil {
				t.Fatal(err)
			}
			events = append(events, p.Event)
		}
		if fmt.Sprint(events) != "[cancelled booked]" {
			t.Fatalf("email jobs = %v", events)
		}
	})
}

func TestCancelAfterCutoffRefused(t *testing.T) {
	ctx := context.Background()
	e := newBookingEnv(t, dbtest.OpenSQLite(t), 1)
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	b, err := e.svc.Book(ctx, e.cands[0], "EX-1", start, key("b"))
	if err != nil {
		t.Fatal(err)
	}
	*e.now = start.Add(-24*time.Hour + time.Second)
	_, err = e.svc.Cancel(ctx, e.cands[0], b.ID, key("c"))
	wantCode(t, err, examgate.ECUTOFFPASSED)
	_, err = e.svc.Reschedule(ctx, e.cands[0], b.ID, start.Add(time.Hour), key("r"))
	wantCode(t, err, examgate.ECUTOFFPASSED)
}

func TestTooManyReschedules(t *testing.T) {
	ctx := context.Background()
	e := newBookingEnv(t, dbtest.OpenSQLite(t), 1)
	b, err := e.svc.Book(ctx, e.cands[0], "EX-1", time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), key("b"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if b, err = e.svc.Reschedule(ctx, e.cands[0], b.ID, time.Date(2026, 12, 7, 11+i, 0, 0, 0, time.UTC), key("r", i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.Reschedule(ctx, e.cands[0], b.ID, time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC), key("r", 3))
	wantCode(t, err, examgate.ETOOMANYRESCHEDULES)
}

func TestRescheduleIntoFullSlotKeepsBooking(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newBookingEnv(t, store, 4)
		full := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		for i := range 3 {
			if _, err := e.svc.Book(ctx, e.cands[i], "EX-1", full, key("b", i)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.svc.Book(ctx, e.cands[3], "EX-1", full, key("b", 3))
		wantCode(t, err, examgate.ESLOTFULL)
		mine, err := e.svc.Book(ctx, e.cands[3], "EX-1", full.Add(time.Hour), key("b", 4))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Reschedule(ctx, e.cands[3], mine.ID, full, key("r"))
		wantCode(t, err, examgate.ESLOTFULL)
		kept, err := store.BookingByID(ctx, mine.ID)
		if err != nil || !kept.StartsAt.Equal(full.Add(time.Hour)) || kept.Reschedules != 0 || kept.Status != examgate.BookingPending {
			t.Fatalf("booking after failed reschedule = %+v %v", kept, err)
		}
		taken, _ := store.SeatsTaken(ctx, "EX-1", full, full.Add(2*time.Hour))
		if taken[full.Unix()] != 3 || taken[full.Add(time.Hour).Unix()] != 1 {
			t.Fatalf("seats = %v", taken)
		}
	})
}

func TestDoubleSubmitBooksOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newBookingEnv(t, store, 1)
		start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		ids := make([]int64, 5)
		errs := make([]error, 5)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := e.svc.Book(ctx, e.cands[0], "EX-1", start, "same-click-key")
				if err == nil {
					ids[i] = b.ID
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("request %d: id %d err %v (first id %d)", i, ids[i], errs[i], ids[0])
			}
		}
		taken, _ := store.SeatsTaken(ctx, "EX-1", start, start.Add(time.Hour))
		if taken[start.Unix()] != 1 {
			t.Fatalf("seats taken = %v", taken)
		}
		// The same key for another action is refused.
		_, err := e.svc.Cancel(ctx, e.cands[0], ids[0], "same-click-key")
		wantCode(t, err, examgate.EINVALID)
	})
}

// TestNoOverbooking: 200 candidates, over several store handles (as several
// server processes), race for the 3 seats of one slot.
func TestNoOverbooking(t *testing.T) {
	run := func(t *testing.T, dsn string) {
		ctx := context.Background()
		const n = 200
		first, err := db.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = first.Close() })
		if err := first.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		e := newBookingEnv(t, first, n)
		services := []*examgate.Bookings{e.svc}
		for range 3 {
			h, err := db.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = h.Close() })
			services = append(services, &examgate.Bookings{Store: h, Catalog: e.svc.Catalog, Clock: e.svc.Clock})
		}
		slot := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = services[i%len(services)].Book(ctx, e.cands[i], "EX-1", slot, key("race", i))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			switch examgate.ErrorCode(err) {
			case "":
				ok++
			case examgate.ESLOTFULL:
			default:
				t.Errorf("unexpected: %v", err)
			}
		}
		var rows int
		if err := first.Bun().QueryRow("SELECT count(*) FROM bookings WHERE status = 'pending'").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if ok != 3 || rows != 3 {
			t.Fatalf("%d bookings succeeded, %d rows; want exactly 3", ok, rows)
		}

		// Concurrent reschedules of 20 other bookings into one free seat.
		target := slot.Add(2 * time.Hour)
		var free []int64 // candidates the race left without a booking
		for i, err := range results {
			if err != nil {
				free = append(free, e.cands[i])
			}
		}
		movers := free[:20]
		ids := make([]int64, len(movers))
		for i, c := range movers {
			b, err := e.svc.Book(ctx, c, "EX-1", time.Date(2026, 12, 3+i%2, 9+i%8, 0, 0, 0, time.UTC), key("m", i))
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = b.ID
		}
		for i := range 2 { // leave one seat in the target slot
			if _, err := e.svc.Book(ctx, free[20+i], "EX-1", target, key("t", i)); err != nil {
				t.Fatal(err)
			}
		}
		moved := make([]error, len(movers))
		for i, c := range movers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, moved[i] = services[i%len(services)].Reschedule(ctx, c, ids[i], target, key("mv", i))
			}()
		}
		wg.Wait()
		ok = 0
		for _, err := range moved {
			if err == nil {
				ok++
			} else if examgate.ErrorCode(err) != examgate.ESLOTFULL {
				t.Errorf("unexpected: %v", err)
			}
		}
		taken, _ := first.SeatsTaken(ctx, "EX-1", target, target.Add(time.Hour))
		var inTarget int
		_ = first.Bun().QueryRow("SELECT count(*) FROM bookings WHERE status = 'pending' AND starts_at = ?", target).Scan(&inTarget)
		if ok != 1 || taken[target.Unix()] != 3 || inTarget != 3 {
			t.Fatalf("%d reschedules succeeded, seats %d, rows %d; want 1, 3, 3", ok, taken[target.Unix()], inTarget)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		_, path := dbtest.OpenSQLiteFile(t)
		run(t, path)
	})
	t.Run("postgres", func(t *testing.T) { run(t, dbtest.PostgresURL(t)) })
}

func TestNoShowSweep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newBookingEnv(t, store, 2)
		start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		missed, err := e.svc.Book(ctx, e.cands[0], "EX-1", start, key("a"))
		if err != nil {
			t.Fatal(err)
		}
		later, err := e.svc.Book(ctx, e.cands[1], "EX-1", start.Add(time.Hour), key("b"))
		if err != nil {
			t.Fatal(err)
		}
		// 14 minutes after the start the check-in window is still open.
		*e.now = start.Add(14 * time.Minute)
		if n, err := e.svc.SweepNoShows(ctx); err != nil || n != 0 {
			t.Fatalf("early sweep: %d %v", n, err)
		}
		*e.now = start.Add(15 * time.Minute)
		if n, err := e.svc.SweepNoShows(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		got, _ := store.BookingByID(ctx, missed.ID)
		other, _ := store.BookingByID(ctx, later.ID)
		if got.Status != examgate.BookingNoShow || other.Status != examgate.BookingPending {
			t.Fatalf("statuses = %s, %s", got.Status, other.Status)
		}
		// The exam's policy ends eligibility on a no-show.
		elig, err := store.Eligibility(ctx, e.cands[0], "EX-1")
		if err != nil || !elig.EndsAt.Equal(*e.now) {
			t.Fatalf("eligibility = %+v %v", elig, err)
		}
		if slots, _ := e.svc.AvailableSlots(ctx, e.cands[0], "EX-1", *e.now, e.now.AddDate(0, 0, 7)); len(slots) != 0 {
			t.Fatalf("no-show candidate still sees %d slots", len(slots))
		}
		// Opening the exam again from the course does not reopen the window
		// of the same purchase.
		if _, err := store.CompleteLaunch(ctx, &examgate.LaunchRecord{
			TokenID: "relaunch", TokenExpiresAt: e.now.Add(time.Hour),
			Candidate: examgate.Candidate{ExternalID: "ext-0", Email: "c0@example.com"},
			Eligibility: examgate.Eligibility{ExamCode: "EX-1", CourseID: "c1", PurchasedAt: bookNow.AddDate(0, 0, -1),
				EndsAt: bookNow.AddDate(0, 0, 29), CheckedAt: *e.now},
			Session: examgate.Session{TokenHash: "relaunch", CreatedAt: *e.now, ExpiresAt: e.now.Add(time.Hour)},
		}); err != nil {
			t.Fatal(err)
		}
		if elig, _ := store.Eligibility(ctx, e.cands[0], "EX-1"); elig.Active(*e.now) {
			t.Fatalf("relaunch reopened the window: %+v", elig)
		}
	})
}

func TestAvailableSlotsBounds(t *testing.T) {
	ctx := context.Background()
	e := newBookingEnv(t, dbtest.OpenSQLite(t), 1)
	_, err := e.svc.AvailableSlots(ctx, e.cands[0], "EX-1", bookNow, bookNow.AddDate(0, 0, 93))
	wantCode(t, err, examgate.EINVALID)
	_, err = e.svc.AvailableSlots(ctx, e.cands[0], "EX-1", bookNow, bookNow)
	wantCode(t, err, examgate.EINVALID)
	// Slots stop at the eligibility end (29 days from now).
	slots, err := e.svc.AvailableSlots(ctx, e.cands[0], "EX-1", bookNow, bookNow.AddDate(0, 0, 92))
	if err != nil {
		t.Fatal(err)
	}
	last := slots[len(slots)-1]
	if !last.StartsAt.Before(bookNow.AddDate(0, 0, 29)) {
		t.Fatalf("slot after eligibility end: %v", last.StartsAt)
	}
	if _, err := e.svc.SetTimeZone(ctx, e.cands[0], "Mars/Olympus"); examgate.ErrorCode(err) != examgate.EINVALID {
		t.Fatalf("bad zone: %v", err)
	}
	c, err := e.svc.SetTimeZone(ctx, e.cands[0], "America/New_York")
	if err != nil || c.TimeZone != "America/New_York" {
		t.Fatalf("zone: %+v %v", c, err)
	}
}
