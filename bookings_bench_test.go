package examgate_test

// The booking benchmarks measure the two booking calls a cohort makes at
// once: listing the open slots of a 90-day window (AvailableSlots) and taking
// a seat (Book), on a SQLite file and on PostgreSQL. docs/performance.md
// explains how to run them and how to read the numbers.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

// benchBookingExam is open around the clock in 30-minute slots of 5 seats,
// like DEMO-101 in cmd/examgate/demo-exams.yaml: a 90-day window holds about
// 4 300 slots (4 272 from benchBookingNow, Christmas Day being closed).
const (
	benchBookingExam    = "BENCH-24"
	benchBookingCourse  = "course-bench-24"
	benchBookingSeats   = 5
	benchBookingWindow  = 90 * 24 * time.Hour
	benchBookingCatalog = `exams:
  - code: BENCH-24
    title: Benchmark Exam Open Around the Clock
    eligibilityDays: 120
    ti:
      courseIds: ["course-bench-24"]
    availability:
      timeZone: Europe/Amsterdam
      slotMinutes: 30
      seats: 5
      leadTime: 0s
      weekly:
        mon: ["00:00-24:00"]
        tue: ["00:00-24:00"]
        wed: ["00:00-24:00"]
        thu: ["00:00-24:00"]
        fri: ["00:00-24:00"]
        sat: ["00:00-24:00"]
        sun: ["00:00-24:00"]
      exceptions:
        - date: "2026-12-25"
          closed: true
    policy:
      checkInBefore: 30m
      checkInAfter: 15m
      cancelCutoff: 24h
      rescheduleCutoff: 24h
      maxReschedules: 3
`
)

// benchBookingNow is the fixed time of the booking benchmarks (08:00 in
// Amsterdam on a Monday); the 90 days after it hold no change of UTC offset.
var benchBookingNow = time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)

// benchBookingSeq keeps launch tokens, session hashes and client keys unique
// across the rounds of a benchmark.
var benchBookingSeq atomic.Int64

var benchBookingStores = []struct {
	name string
	open func(b *testing.B) *db.DB
}{
	// A file, not :memory:, because production SQLite is a WAL file.
	{"sqlite", func(b *testing.B) *db.DB { s, _ := dbtest.OpenSQLiteFile(b); return s }},
	{"postgres", func(b *testing.B) *db.DB { return dbtest.OpenPostgres(b) }},
}

// benchBookings returns the booking service over store, wired as
// cmd/examgate wires it, with the clock stopped at benchBookingNow.
func benchBookings(b *testing.B, store *db.DB) *examgate.Bookings {
	b.Helper()
	catalog, err := examgate.ParseCatalog([]byte(benchBookingCatalog))
	if err != nil {
		b.Fatal(err)
	}
	return &examgate.Bookings{
		Store: store, Catalog: catalog,
		Clock:  examgate.ClockFunc(func() time.Time { return benchBookingNow }),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
}

// benchSlotStarts lists the slot starts of the benchmark window.
func benchSlotStarts(b *testing.B, svc *examgate.Bookings) []time.Time {
	b.Helper()
	exam, err := svc.Catalog.Exam(benchBookingExam)
	if err != nil {
		b.Fatal(err)
	}
	var starts []time.Time
	for _, sl := range exam.Availability.Slots(benchBookingExam, benchBookingNow, benchBookingNow.Add(benchBookingWindow)) {
		starts = append(starts, sl.StartsAt)
	}
	return starts
}

// benchEach runs fn(i) for i in [0, n) from a few goroutines: setup only, so
// that PostgreSQL's commits overlap (SQLite queues them on its connection).
func benchEach(b *testing.B, n int, fn func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchCandidates creates n candidates eligible for the benchmark exam for
// the next 120 days, each by a launch transaction, and returns their ids.
func benchCandidates(b *testing.B, store *db.DB, n int) []int64 {
	b.Helper()
	ctx := context.Background()
	ids := make([]int64, n)
	benchEach(b, n, func(i int) error {
		id := fmt.Sprintf("bk%d", benchBookingSeq.Add(1))
		c, err := store.CompleteLaunch(ctx, &examgate.LaunchRecord{
			TokenID: "token-" + id, TokenExpiresAt: benchBookingNow.Add(time.Hour),
			Candidate: examgate.Candidate{ExternalID: "cust-" + id, Email: id + "@example.com",
				FirstName: "Ada", LastName: "Lovelace", TIUserID: "ti-" + id},
			Eligibility: examgate.Eligibility{ExamCode: benchBookingExam, CourseID: benchBookingCourse,
				PurchasedAt: benchBookingNow.AddDate(0, 0, -1), EndsAt: benchBookingNow.AddDate(0, 0, 119), CheckedAt: benchBookingNow},
			Session: examgate.Session{TokenHash: "hash-" + id, CreatedAt: benchBookingNow, ExpiresAt: benchBookingNow.Add(examgate.SessionLifetime)},
		})
		if err != nil {
			return err
		}
		ids[i] = c.ID
		return nil
	})
	return ids
}

// benchKey makes a client key, one per booking, as the SPA does per click.
func benchKey() string { return fmt.Sprintf("bench-key-%d", benchBookingSeq.Add(1)) }

// BenchmarkAvailableSlots lists the open slots of a 90-day window (about
// 4 300 slots) in which 2 000 seats are taken by earlier bookings, more of
// them in the first weeks, so that the early slots are full: one eligibility
// read, the slot calendar, one range read of slot_seats, the policy check of
// every slot.
func BenchmarkAvailableSlots(b *testing.B) {
	const benchBooked = 2000
	for _, st := range benchBookingStores {
		b.Run(st.name, func(b *testing.B) {
			store := st.open(b)
			svc := benchBookings(b, store)
			ctx := b.Context()
			starts := benchSlotStarts(b, svc)
			// Seats are placed beforehand (density falling with the distance
			// from now; a full slot passes its booking on to the next one),
			// so that every store gets the same calendar.
			rng := rand.New(rand.NewPCG(1, 2))
			seats := make([]int, len(starts))
			at := make([]time.Time, benchBooked)
			for i := range at {
				u := rng.Float64()
				s := int(u * u * float64(len(starts)))
				for seats[s] == benchBookingSeats {
					s = (s + 1) % len(starts)
				}
				seats[s]++
				at[i] = starts[s]
			}
			cands := benchCandidates(b, store, benchBooked+1)
			benchEach(b, benchBooked, func(i int) error {
				_, err := svc.Book(ctx, cands[i], benchBookingExam, at[i], benchKey())
				return err
			})
			full := 0
			for _, n := range seats {
				if n == benchBookingSeats {
					full++
				}
			}
			// The candidate asking has no booking of their own.
			cand := cands[benchBooked]
			from, to := benchBookingNow, benchBookingNow.Add(benchBookingWindow)
			slots, err := svc.AvailableSlots(ctx, cand, benchBookingExam, from, to)
			if err != nil {
				b.Fatal(err)
			}
			if want := len(starts) - full; len(slots) != want {
				b.Fatalf("%d open slots, want %d (%d slots, %d full)", len(slots), want, len(starts), full)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.AvailableSlots(ctx, cand, benchBookingExam, from, to); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(slots)), "open-slots")
		})
	}
}

// BenchmarkBookSlot books from 4×GOMAXPROCS goroutines at once, every
// booking by a candidate of its own (created before the timer), so that each
// is a real insert: the client-key and eligibility reads, then one
// transaction taking the seat and inserting the booking, its client key and
// its confirmation email job. ns/op is wall time divided by bookings; p99-ms
// and max-ms are the latency of one Book call.
//
//   - spread: booking i takes slot 7i mod ~4 300 of the 90-day window, so
//     that no slot fills up and no two concurrent bookings want the same row;
//   - contended: every goroutine targets the same 4 slots (20 seats), so all
//     but the first 20 bookings of a run are answered SLOT_FULL; full/op is
//     that fraction.
func BenchmarkBookSlot(b *testing.B) {
	for _, st := range benchBookingStores {
		b.Run(st.name, func(b *testing.B) {
			b.Run("spread", func(b *testing.B) {
				benchBookParallel(b, st.open(b), func(starts []time.Time, i int) time.Time {
					return starts[i*7%len(starts)]
				})
			})
			b.Run("contended", func(b *testing.B) {
				benchBookParallel(b, st.open(b), func(starts []time.Time, i int) time.Time {
					return starts[i%4]
				})
			})
		})
	}
}

// benchBookParallel makes b.N bookings, booking i at slot(starts, i), and
// reports the fraction refused with SLOT_FULL; any other refusal fails, and
// so does seat accounting that does not match the bookings made.
func benchBookParallel(b *testing.B, store *db.DB, slot func(starts []time.Time, i int) time.Time) {
	svc := benchBookings(b, store)
	ctx := b.Context()
	starts := benchSlotStarts(b, svc)
	cands := benchCandidates(b, store, b.N)
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = benchKey()
	}
	lat := make([]time.Duration, b.N)
	var next, full atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			t := time.Now()
			_, err := svc.Book(ctx, cands[i], benchBookingExam, slot(starts, i), keys[i])
			lat[i] = time.Since(t)
			switch examgate.ErrorCode(err) {
			case "":
			case examgate.ESLOTFULL:
				full.Add(1)
			default:
				b.Error(err) // Fatal must not be called off the benchmark goroutine
				return
			}
		}
	})
	b.StopTimer()
	// Every booking that was not refused holds exactly one seat, and no slot
	// holds more than it has.
	taken, err := store.SeatsTaken(ctx, benchBookingExam, benchBookingNow, benchBookingNow.Add(benchBookingWindow))
	if err != nil {
		b.Fatal(err)
	}
	seats := 0
	for start, n := range taken {
		if n > benchBookingSeats {
			b.Errorf("slot %s holds %d seats of %d", time.Unix(start, 0).UTC(), n, benchBookingSeats)
		}
		seats += n
	}
	if booked := b.N - int(full.Load()); seats != booked {
		b.Errorf("%d seats taken for %d bookings", seats, booked)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(full.Load())/float64(b.N), "full/op")
	b.ReportMetric(float64(lat[(len(lat)*99+99)/100-1])/1e6, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
}
