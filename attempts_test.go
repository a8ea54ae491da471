package examgate_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

const deliveryCatalog = `
exams:
  - code: EX-1
    title: Exam One
    eligibilityDays: 30
    ti: {courseIds: [c1]}
    availability:
      timeZone: UTC
      slotMinutes: 60
      seats: 3
      weekly: {mon: ["09:00-17:00"], wed: ["09:00-17:00"]}
    delivery:
      durationMinutes: 30
      passMark: 50
      grace: 30s
      maxAttempts: 2
      items:
        - {id: q1, type: single, stem: "One?", options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}
        - {id: q2, type: truefalse, stem: "Two?", correct: ["true"]}
  - code: QUICK
    title: Quick
    eligibilityDays: 30
    ti: {courseIds: [c1]}
    delivery:
      onDemand: true
      durationMinutes: 10
      passMark: 100
      items:
        - {id: q1, type: truefalse, stem: "One?", correct: ["false"]}
`

type attemptEnv struct {
	store    *db.DB
	bookings *examgate.Bookings
	attempts *examgate.Attempts
	now      *time.Time
	cands    []int64
}

func newAttemptEnv(t *testing.T, store *db.DB, candidates int) *attemptEnv {
	t.Helper()
	catalog, err := examgate.ParseCatalog([]byte(deliveryCatalog))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC) // Monday
	e := &attemptEnv{store: store, now: &now}
	// These tests move the clock hours at a time between a candidate's
	// requests; the idle timeout has tests of its own (db/sessions_test.go).
	store.SetSessionIdle(examgate.SessionLifetime)
	clock := examgate.ClockFunc(func() time.Time { return *e.now })
	e.attempts = &examgate.Attempts{Store: store, Catalog: catalog, Clock: clock}
	e.bookings = &examgate.Bookings{Store: store, Catalog: catalog, Clock: clock, Attempts: e.attempts}
	for i := range candidates {
		c, err := store.CompleteLaunch(context.Background(), &examgate.LaunchRecord{
			TokenID: key("tok", i), TokenExpiresAt: now.Add(time.Hour),
			Candidate:   examgate.Candidate{Email: key("c", i) + "@example.com"},
			Eligibility: examgate.Eligibility{ExamCode: "EX-1", CourseID: "c1", PurchasedAt: now, EndsAt: now.AddDate(0, 0, 30), CheckedAt: now},
			Session:     examgate.Session{TokenHash: key("s", i), CreatedAt: now, ExpiresAt: now.Add(examgate.SessionLifetime)},
		})
		if err != nil {
			t.Fatal(err)
		}
		e.cands = append(e.cands, c.ID)
	}
	return e
}

// as is the session of a candidate of the env as a request names it: not
// read until needed, so that saves check it in their own statement.
func (e *attemptEnv) as(cand int64) *examgate.SessionRef {
	i := slices.Index(e.cands, cand)
	if i < 0 {
		panic(fmt.Sprintf("candidate %d is not in the env", cand))
	}
	return examgate.NewSessionRef(key("s", i), func(ctx context.Context) (*examgate.Session, error) {
		return e.store.SessionByTokenHash(ctx, key("s", i), *e.now)
	})
}

// as is a session already read, of the candidate.
func as(cand int64) *examgate.SessionRef {
	return examgate.KnownSession(&examgate.Session{CandidateID: cand})
}

// startBooked books the 10:00 slot and starts it at 09:45.
func (e *attemptEnv) startBooked(t *testing.T, cand int64, k string) (*examgate.Booking, *examgate.Attempt) {
	t.Helper()
	ctx := context.Background()
	b, err := e.bookings.Book(ctx, cand, "EX-1", time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), key("book", k))
	if err != nil {
		t.Fatal(err)
	}
	*e.now = time.Date(2026, 11, 30, 9, 45, 0, 0, time.UTC)
	b, err = e.bookings.Start(ctx, cand, b.ID, key("start", k))
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.attempts.ByBooking(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b, a
}

func TestAttemptFromBookingToResult(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 1)
		b, a := e.startBooked(t, e.cands[0], "1")
		if b.Status != examgate.BookingStarted || a.Status != examgate.AttemptOpen || !a.Deadline.Equal(e.now.Add(30*time.Minute)) {
			t.Fatalf("booking %s, attempt %+v", b.Status, a)
		}
		if _, _, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "q1", []string{"a"}, 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "q1", []string{"z"}, 2); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Fatalf("unknown option: %v", err)
		}
		if _, _, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "nope", []string{"a"}, 3); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Fatalf("unknown item: %v", err)
		}
		*e.now = e.now.Add(10 * time.Minute)
		done, err := e.attempts.Submit(ctx, e.cands[0], a.ID)
		if err != nil || done.Status != examgate.AttemptSubmitted || !done.EndedAt.Equal(*e.now) {
			t.Fatalf("submit: %+v %v", done, err)
		}
		// Submitting again is harmless.
		if again, err := e.attempts.Submit(ctx, e.cands[0], a.ID); err != nil || again.Status != examgate.AttemptSubmitted {
			t.Fatalf("second submit: %+v %v", again, err)
		}
		res, err := e.attempts.Result(ctx, done)
		if err != nil || res.Percent != 50 || !res.Passed || len(res.Items) != 2 {
			t.Fatalf("result = %+v %v", res, err)
		}
		booking, _ := store.BookingByID(ctx, b.ID)
		if booking.Status != examgate.BookingCompleted {
			t.Fatalf("booking = %s, want completed", booking.Status)
		}
		// Someone else's attempt does not exist for them.
		if _, _, err := e.attempts.Own(ctx, e.cands[0]+1000, a.ID); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("other candidate: %v", err)
		}
	})
}

func TestSaveDeadlineAndGrace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 1)
		_, a := e.startBooked(t, e.cands[0], "1")
		// Up to deadline + 30 s grace the save is accepted…
		*e.now = a.Deadline.Add(29 * time.Second)
		if _, ok, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "q2", []string{"true"}, 1); err != nil || !ok {
			t.Fatalf("inside grace: %v %v", ok, err)
		}
		*e.now = a.Deadline.Add(30 * time.Second)
		if _, ok, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "q1", []string{"a"}, 2); err != nil || !ok {
			t.Fatalf("at the end of grace: %v %v", ok, err)
		}
		// …one second later it is refused and the attempt is closed at its deadline.
		*e.now = a.Deadline.Add(31 * time.Second)
		if _, _, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "q1", []string{"b"}, 3); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("after grace: %v", err)
		}
		got, _, err := e.attempts.Own(ctx, e.cands[0], a.ID)
		if err != nil || got.Status != examgate.AttemptTimedOut || !got.EndedAt.Equal(a.Deadline) {
			t.Fatalf("attempt = %+v %v", got, err)
		}
		res, _ := e.attempts.Result(ctx, got)
		if res.Percent != 100 {
			t.Fatalf("the answers saved in grace were not scored: %+v", res)
		}
	})
}

func TestAccommodationStretchesDeadline(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	e := newAttemptEnv(t, store, 1)
	if err := store.SetAccommodation(context.Background(), e.cands[0], "EX-1", 1.5, *e.now); err != nil {
		t.Fatal(err)
	}
	_, a := e.startBooked(t, e.cands[0], "1")
	if want := a.StartedAt.Add(45 * time.Minute); !a.Deadline.Equal(want) {
		t.Fatalf("deadline = %v, want %v", a.Deadline, want)
	}
}

func TestSweepClosesAbandonedAttempts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 2)
		_, a := e.startBooked(t, e.cands[0], "1")
		*e.now = a.Deadline.Add(30 * time.Second)
		if n, err := e.attempts.SweepOverdue(ctx); err != nil || n != 0 {
			t.Fatalf("sweep inside grace: %d %v", n, err)
		}
		*e.now = a.Deadline.Add(2 * time.Hour)
		if n, err := e.attempts.SweepOverdue(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		got, _ := store.AttemptByID(ctx, a.ID)
		if got.Status != examgate.AttemptTimedOut || !got.EndedAt.Equal(a.Deadline) {
			t.Fatalf("attempt = %+v", got)
		}
		if _, err := store.ResultByAttempt(ctx, a.ID); err != nil {
			t.Fatalf("no result: %v", err)
		}
	})
}

func TestOutOfOrderAndDuplicateSaves(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 1)
		_, a := e.startBooked(t, e.cands[0], "1")
		c := e.cands[0]
		save := func(choice string, seq int64) (examgate.Answer, bool) {
			t.Helper()
			ans, ok, err := e.attempts.SaveChoices(ctx, e.as(c), a.ID, "q1", []string{choice}, seq)
			if err != nil {
				t.Fatal(err)
			}
			return ans, ok
		}
		save("a", 5)
		if ans, ok := save("b", 3); ok || ans.Choices[0] != "a" || ans.ClientSeq != 5 {
			t.Fatalf("older save overwrote: %+v %v", ans, ok)
		}
		if ans, ok := save("a", 5); !ok || ans.Choices[0] != "a" {
			t.Fatalf("duplicate save: %+v %v", ans, ok)
		}
		// The flag has its own sequence: an older flag change never undoes a newer one.
		if _, _, err := e.attempts.SaveFlag(ctx, e.as(c), a.ID, "q1", true, 7); err != nil {
			t.Fatal(err)
		}
		if ans, ok, _ := e.attempts.SaveFlag(ctx, e.as(c), a.ID, "q1", false, 6); ok || !ans.Flagged {
			t.Fatalf("older unflag won: %+v", ans)
		}
		// Two tabs save concurrently with interleaved sequence numbers: the highest wins.
		var wg sync.WaitGroup
		for tab := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					seq := int64(10 + 2*i + tab)
					choice := []string{"a", "b"}[seq%2]
					if _, _, err := e.attempts.SaveChoices(ctx, e.as(c), a.ID, "q1", []string{choice}, seq); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		answers, _ := store.Answers(ctx, a.ID)
		if len(answers) != 1 || answers[0].Choices[0] != "b" || !answers[0].Flagged {
			t.Fatalf("answers = %+v (want the seq 49 choice b, flagged)", answers)
		}
	})
}

func TestOnDemandAttempt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 1)
		elig := &examgate.Eligibility{ExamCode: "QUICK", EndsAt: e.now.AddDate(0, 0, 1)}
		a, err := e.attempts.StartOnDemand(ctx, e.cands[0], "QUICK", "start-key-1", elig)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.attempts.StartOnDemand(ctx, e.cands[0], "QUICK", "start-key-2", elig)
		if err != nil || again.ID != a.ID {
			t.Fatalf("second start: %+v %v", again, err)
		}
		if _, err := e.attempts.Submit(ctx, e.cands[0], a.ID); err != nil {
			t.Fatal(err)
		}
		// maxAttempts defaults to 1.
		if _, err := e.attempts.StartOnDemand(ctx, e.cands[0], "QUICK", "start-key-3", elig); examgate.ErrorCode(err) != examgate.ENOATTEMPTSLEFT {
			t.Fatalf("attempt limit: %v", err)
		}
		if _, err := e.attempts.StartOnDemand(ctx, e.cands[0], "EX-1", "start-key-4", elig); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Fatalf("booked exam on demand: %v", err)
		}
		expired := &examgate.Eligibility{ExamCode: "QUICK", EndsAt: e.now.Add(-time.Second)}
		if _, err := e.attempts.StartOnDemand(ctx, e.cands[0]+99, "QUICK", "start-key-5", expired); examgate.ErrorCode(err) != examgate.EOUTSIDEELIGIBILITY {
			t.Fatalf("expired eligibility: %v", err)
		}
	})
}

// The store itself refuses a save to an ended attempt, so a save racing a
// submit either is scored or is refused, never accepted and left out.
func TestStoreRefusesSaveAfterCompletion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 1)
		_, a := e.startBooked(t, e.cands[0], "1")
		if _, err := store.SaveChoices(ctx, a.ID, examgate.Answer{ItemID: "q1", Choices: []string{"a"}, ClientSeq: 1, SavedAt: *e.now}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.attempts.Submit(ctx, e.cands[0], a.ID); err != nil {
			t.Fatal(err)
		}
		_, err := store.SaveChoices(ctx, a.ID, examgate.Answer{ItemID: "q2", Choices: []string{"true"}, ClientSeq: 2, SavedAt: *e.now})
		if examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("save after completion: %v", err)
		}
		if _, err := store.SaveFlag(ctx, a.ID, examgate.Answer{ItemID: "q2", Flagged: true, ClientSeq: 3, SavedAt: *e.now}); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("flag after completion: %v", err)
		}
		res, _ := store.ResultByAttempt(ctx, a.ID)
		if res.Percent != 50 {
			t.Fatalf("result = %+v", res)
		}
		// A passed exam is not booked (nor sat) again.
		*e.now = e.now.AddDate(0, 0, 2)
		if _, err := e.bookings.Book(ctx, e.cands[0], "EX-1", time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), key("book", "again")); examgate.ErrorCode(err) != examgate.EALREADYPASSED {
			t.Fatalf("booking after a pass: %v", err)
		}
	})
}

// A learner who failed their last allowed attempt is not sold a seat they
// cannot use: booking is refused before a seat is taken, and the standing
// says why.
func TestNoBookingWithoutAttemptsLeft(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 1)
		exam, _ := e.attempts.Catalog.Exam("EX-1")
		before, err := e.attempts.Standing(ctx, e.cands[0], exam)
		if err != nil || before.Left() != exam.Delivery.Attempts() || !before.CanAttempt().Allowed {
			t.Fatalf("standing before any attempt = %+v, %v", before, err)
		}
		// Both attempts (Monday and Wednesday), each failed: nothing answered.
		_, a := e.startBooked(t, e.cands[0], "1")
		if _, err := e.attempts.Submit(ctx, e.cands[0], a.ID); err != nil {
			t.Fatal(err)
		}
		b, err := e.bookings.Book(ctx, e.cands[0], "EX-1", time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), key("book", "2"))
		if err != nil {
			t.Fatal(err)
		}
		*e.now = time.Date(2026, 12, 2, 9, 45, 0, 0, time.UTC)
		if _, err := e.bookings.Start(ctx, e.cands[0], b.ID, key("start", "2")); err != nil {
			t.Fatal(err)
		}
		a, err = e.attempts.ByBooking(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.attempts.Submit(ctx, e.cands[0], a.ID); err != nil {
			t.Fatal(err)
		}
		after, err := e.attempts.Standing(ctx, e.cands[0], exam)
		if err != nil || after.Passed || after.Used != 2 || after.Left() != 0 {
			t.Fatalf("standing after two fails = %+v, %v", after, err)
		}
		start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		if _, err := e.bookings.Book(ctx, e.cands[0], "EX-1", start, key("book", "after-fail")); examgate.ErrorCode(err) != examgate.ENOATTEMPTSLEFT {
			t.Fatalf("booking with no attempt left: %v", err)
		}
		taken, err := store.SeatsTaken(ctx, "EX-1", start, start.Add(time.Hour))
		if err != nil || taken[start.Unix()] != 0 {
			t.Fatalf("seats taken after a refused booking = %v, %v", taken, err)
		}
		if err := after.CanAttempt().Err(); examgate.ErrorCode(err) != examgate.ENOATTEMPTSLEFT || !strings.Contains(err.Error(), "all 2 attempts ") {
			t.Fatalf("refusal = %v", err)
		}
	})
}

// raceCatalog is an on-demand exam of raceItems items, each answered
// correctly by "a", so that the result shows which saves were scored.
func raceCatalog(t *testing.T) *examgate.Catalog {
	t.Helper()
	var s strings.Builder
	s.WriteString(`exams:
  - code: RACE
    title: Race
    eligibilityDays: 30
    ti: {courseIds: [c1]}
    delivery:
      onDemand: true
      durationMinutes: 30
      passMark: 50
      maxAttempts: 1
      items:
`)
	for i := range raceItems {
		fmt.Fprintf(&s, "        - {id: q%d, type: single, stem: \"Q?\", options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}\n", i)
	}
	catalog, err := examgate.ParseCatalog([]byte(s.String()))
	if err != nil {
		t.Fatal(err)
	}
	return catalog
}

const raceItems = 24

// A save racing a submit is either scored or refused, never accepted and
// left out of the result; with concurrent saves this also runs SQLite's
// group commit, where saves of one batch share a transaction.
func TestSaveRacingSubmit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 4)
		e.attempts.Catalog = raceCatalog(t)
		elig := &examgate.Eligibility{ExamCode: "RACE", EndsAt: e.now.AddDate(0, 0, 1)}
		for _, c := range e.cands {
			a, err := e.attempts.StartOnDemand(ctx, c, "RACE", key("race", c), elig)
			if err != nil {
				t.Fatal(err)
			}
			// The submit starts once a third of the saves are answered,
			// so that it meets the others on their way.
			start, third := make(chan struct{}), make(chan struct{}, raceItems)
			accepted := make([]bool, raceItems)
			var wg sync.WaitGroup
			for i := range raceItems {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, ok, err := e.attempts.SaveChoices(ctx, e.as(c), a.ID, fmt.Sprintf("q%d", i), []string{"a"}, 1)
					third <- struct{}{}
					switch {
					case err == nil:
						accepted[i] = ok
						if !ok {
							t.Errorf("q%d: a first save was not accepted", i)
						}
					case examgate.ErrorCode(err) != examgate.ECONFLICT:
						t.Errorf("q%d: %v", i, err)
					}
				}()
			}
			var done *examgate.Attempt
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range raceItems / 3 {
					<-third
				}
				var err error
				if done, err = e.attempts.Submit(ctx, c, a.ID); err != nil {
					t.Error(err)
				}
			}()
			close(start)
			wg.Wait()
			if t.Failed() {
				return
			}
			res, err := e.attempts.Result(ctx, done)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("candidate %d: %d of %d saves landed before the submit", c, count(accepted), raceItems)
			for _, it := range res.Items {
				var i int
				fmt.Sscanf(it.ItemID, "q%d", &i)
				if accepted[i] != it.Correct {
					t.Errorf("%s: accepted %v, scored correct %v", it.ItemID, accepted[i], it.Correct)
				}
			}
		}
	})
}

// A save names its session without reading it: the save's statement checks
// that the session is live and the attempt's candidate's. A session read
// already is checked by candidate instead. An ended session, or another
// candidate's, writes nothing and gets the answer a read would have given.
func TestSaveChecksSessionInItsStatement(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 2)
		_, a := e.startBooked(t, e.cands[0], "1")
		reads := 0
		claim := func(i int) *examgate.SessionRef {
			return examgate.NewSessionRef(key("s", i), func(ctx context.Context) (*examgate.Session, error) {
				reads++
				return store.SessionByTokenHash(ctx, key("s", i), *e.now)
			})
		}
		_, saves0 := store.SaveStats()
		for seq := range int64(3) {
			who := claim(0)
			if ans, ok, err := e.attempts.SaveChoices(ctx, who, a.ID, "q1", []string{"a"}, seq+1); err != nil || !ok || ans.ClientSeq != seq+1 {
				t.Fatalf("save %d: %+v %v %v", seq+1, ans, ok, err)
			}
			if !who.Verified() {
				t.Fatal("a save that landed did not mark its session live")
			}
		}
		who := claim(0)
		if ans, ok, err := e.attempts.SaveFlag(ctx, who, a.ID, "q1", true, 1); err != nil || !ok || !ans.Flagged || !who.Verified() {
			t.Fatalf("flag: %+v %v %v", ans, ok, err)
		}
		if _, saves := store.SaveStats(); reads != 0 || saves-saves0 != 4 {
			t.Fatalf("4 saves: %d session reads, %d guarded statements; want 0 and 4", reads, saves-saves0)
		}

		// Read already (by the rate limiter, say): checked by candidate.
		known, err := store.SessionByTokenHash(ctx, key("s", 0), *e.now)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := e.attempts.SaveChoices(ctx, examgate.KnownSession(known), a.ID, "q1", []string{"b"}, 4); err != nil || !ok {
			t.Fatalf("save with the session read: %v %v", ok, err)
		}

		// Another candidate's live session, unread or read already:
		// refused as before, unwritten.
		otherRead, err := store.SessionByTokenHash(ctx, key("s", 1), *e.now)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.attempts.SaveChoices(ctx, examgate.KnownSession(otherRead), a.ID, "q2", []string{"true"}, 1); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("another candidate's session, read: %v", err)
		}
		if _, _, err := e.attempts.SaveFlag(ctx, examgate.KnownSession(otherRead), a.ID, "q2", true, 1); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("another candidate's session, read, flag: %v", err)
		}
		other := claim(1)
		if _, _, err := e.attempts.SaveChoices(ctx, other, a.ID, "q2", []string{"true"}, 1); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("another candidate's session: %v", err)
		}
		if _, _, err := e.attempts.SaveFlag(ctx, claim(1), a.ID, "q2", true, 1); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("another candidate's session, flag: %v", err)
		}
		// Signed out: nothing written.
		if err := store.DeleteSession(ctx, key("s", 0)); err != nil {
			t.Fatal(err)
		}
		ended := claim(0)
		if _, _, err := e.attempts.SaveChoices(ctx, ended, a.ID, "q2", []string{"true"}, 1); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED || ended.Verified() || !ended.Ended() {
			t.Fatalf("signed-out session: %v", err)
		}
		if _, _, err := e.attempts.SaveFlag(ctx, claim(0), a.ID, "q1", false, 2); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("signed-out session, flag: %v", err)
		}
		answers, err := store.Answers(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(answers) != 1 || answers[0].ItemID != "q1" || answers[0].Choices[0] != "b" || !answers[0].Flagged {
			t.Fatalf("answers = %+v, want q1 = b, flagged, and nothing else", answers)
		}
	})
}

// A session past its expiry saves nothing, to the second.
func TestSaveRefusedWhenSessionExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 1)
		expires := e.now.Add(examgate.SessionLifetime)
		*e.now = expires.Add(-5 * time.Minute) // a 10-minute exam, started 5 minutes before
		a, err := e.attempts.StartOnDemand(ctx, e.cands[0], "QUICK", "start", &examgate.Eligibility{ExamCode: "QUICK", EndsAt: e.now.AddDate(0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		*e.now = expires.Add(-time.Second)
		if _, ok, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "q1", []string{"false"}, 1); err != nil || !ok {
			t.Fatalf("a second before the session ends: %v %v", ok, err)
		}
		*e.now = expires
		if _, _, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "q1", []string{"true"}, 2); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("when the session ends: %v", err)
		}
	})
}

// The fast path of a save is only a hint of who owns the attempt: another
// candidate, an unknown attempt or an ended one get the same answers as
// before.
func TestSaveOwnershipFromCache(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newAttemptEnv(t, store, 2)
		_, a := e.startBooked(t, e.cands[0], "1")
		if _, _, err := e.attempts.Own(ctx, e.cands[0], a.ID); err != nil { // known to this process from here on
			t.Fatal(err)
		}
		if _, _, err := e.attempts.SaveChoices(ctx, e.as(e.cands[1]), a.ID, "q1", []string{"a"}, 1); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("another candidate's save: %v", err)
		}
		if _, _, err := e.attempts.SaveFlag(ctx, e.as(e.cands[1]), a.ID, "q1", true, 1); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("another candidate's flag: %v", err)
		}
		if _, _, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID+1000, "q1", []string{"a"}, 1); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("unknown attempt: %v", err)
		}
		if ans, ok, err := e.attempts.SaveFlag(ctx, e.as(e.cands[0]), a.ID, "q2", true, 1); err != nil || !ok || !ans.Flagged || ans.ClientSeq != 1 {
			t.Fatalf("flag: %+v %v %v", ans, ok, err)
		}
		if ans, ok, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "q2", []string{"true"}, 1); err != nil || !ok || !ans.Flagged || ans.Choices[0] != "true" {
			t.Fatalf("choices after the flag: %+v %v %v", ans, ok, err)
		}
		if answers, _ := store.Answers(ctx, a.ID); len(answers) != 1 || answers[0].ItemID != "q2" {
			t.Fatalf("answers = %+v, want only the owner's q2", answers)
		}
		if _, err := e.attempts.Submit(ctx, e.cands[0], a.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.attempts.SaveChoices(ctx, e.as(e.cands[0]), a.ID, "q1", []string{"a"}, 2); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("save after submit: %v", err)
		}
		if _, _, err := e.attempts.SaveFlag(ctx, e.as(e.cands[0]), a.ID, "q1", true, 2); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("flag after submit: %v", err)
		}
	})
}

func count(bs []bool) (n int) {
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// More than a page of overdue attempts the sweep must leave alone (their
// exam left the catalog) does not hide an attempt it must close after
// them, even with every deadline equal so that pages split on the id.
func TestSweepPagesPastAttemptsItLeaves(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		const gone = 230 // over two pages
		e := newAttemptEnv(t, store, gone+1)
		deadline := e.now.Add(-time.Hour)
		start := func(c int64, exam string) *examgate.Attempt {
			t.Helper()
			a, err := store.StartAttempt(ctx, &examgate.Attempt{CandidateID: c, ExamCode: exam, Seed: 1,
				StartedAt: deadline.Add(-30 * time.Minute), Deadline: deadline, Status: examgate.AttemptOpen}, nil,
				examgate.Request{CandidateID: c, ClientKey: key("sweep", c), Action: examgate.ActionStart, At: deadline}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		for _, c := range e.cands[:gone] {
			start(c, "GONE-1")
		}
		last := start(e.cands[gone], "EX-1")
		if n, err := e.attempts.SweepOverdue(ctx); err != nil || n != 1 {
			t.Fatalf("sweep closed %d (%v), want the one attempt of EX-1", n, err)
		}
		got, _ := store.AttemptByID(ctx, last.ID)
		if got.Status != examgate.AttemptTimedOut || !got.EndedAt.Equal(deadline) {
			t.Fatalf("attempt = %+v", got)
		}
		if n, err := e.attempts.SweepOverdue(ctx); err != nil || n != 0 {
			t.Fatalf("second sweep: %d %v", n, err)
		}
	})
}
