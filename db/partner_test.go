package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

var partnerCtx = examgate.NewContextWithAPIKey(context.Background(), &examgate.APIKey{Name: "poller", Scopes: []string{examgate.ScopeBookingsRead}})

// poller follows the partner listing the way a partner system does: by
// cursor (after) or by the last updatedAt it saw (updatedSince).
type poller struct {
	store        *db.DB
	bySince      bool
	after        *examgate.BookingCursor
	since        time.Time
	seen         []examgate.BookingChange
	seenVersions map[string]bool
}

// poll reads pages until the listing is exhausted for now.
func (p *poller) poll(t *testing.T) {
	for {
		f := examgate.BookingFilter{Limit: 3, After: p.after, UpdatedSince: p.since}
		page, err := examgate.PartnerBookings(partnerCtx, p.store, f)
		if err != nil {
			t.Error(err)
			return
		}
		page = page[:min(len(page), 3)]
		for _, b := range page {
			v := fmt.Sprintf("%d@%d", b.ID, b.Cursor.ChangeUS)
			if p.seenVersions[v] {
				t.Errorf("change %s seen twice", v)
			}
			p.seenVersions[v] = true
			if n := len(p.seen); n > 0 && !(p.seen[n-1].Cursor.ChangeUS < b.Cursor.ChangeUS) {
				t.Errorf("change order went back: %+v then %+v", p.seen[n-1].Cursor, b.Cursor)
			}
			if !b.UpdatedAt.Equal(time.UnixMicro(b.Cursor.ChangeUS).UTC()) {
				t.Errorf("booking %d: updatedAt %s is not its place in the change order %d", b.ID, b.UpdatedAt, b.Cursor.ChangeUS)
			}
			p.seen = append(p.seen, b)
			if p.bySince {
				p.since = b.UpdatedAt
			} else {
				c := b.Cursor
				p.after = &c
			}
		}
		if len(page) < 3 {
			return
		}
	}
}

// lastSeen returns the newest version of each booking the poller saw.
func (p *poller) lastSeen() map[int64]time.Time {
	out := map[int64]time.Time{}
	for _, b := range p.seen {
		out[b.ID] = b.UpdatedAt
	}
	return out
}

func newCandidate(t *testing.T, store *db.DB, i int) *examgate.Candidate {
	t.Helper()
	c, err := store.CompleteLaunch(context.Background(), record(fmt.Sprintf("tok-%d", i), fmt.Sprintf("ext-%d", i), fmt.Sprintf("c%d@example.com", i)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func book(store *db.DB, candidateID int64, key string, start, at time.Time, jobs examgate.JobsFunc) (*examgate.Booking, error) {
	return store.CreateBooking(context.Background(), &examgate.Booking{
		CandidateID: candidateID, ExamCode: "DEMO-101", StartsAt: start, EndsAt: start.Add(time.Hour), TimeZone: "UTC", CreatedAt: at, UpdatedAt: at,
	}, 1000, examgate.Request{CandidateID: candidateID, ClientKey: key, Action: examgate.ActionBook, At: at}, jobs)
}

func cancel(store *db.DB, b *examgate.Booking, key string, at time.Time, jobs examgate.JobsFunc) (*examgate.Booking, error) {
	return store.ChangeBookingStatus(context.Background(), b, examgate.BookingCancelled, true,
		examgate.Request{CandidateID: b.CandidateID, ClientKey: key, Action: examgate.ActionCancel, At: at}, jobs)
}

// TestPollingSeesChangeCommittedLate: a change made first but committed
// last (its transaction was slow) comes after the changes committed before
// it, so a poller that already read past those still gets it. On SQLite
// transactions cannot overlap (one writer), so the late commit cannot
// happen there; the test runs on both to check the listing itself.
func TestPollingSeesChangeCommittedLate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		slot := t0.Add(72 * time.Hour)
		a, b := newCandidate(t, store, 1), newCandidate(t, store, 2)
		ba, err := book(store, a.ID, "a1", slot, t0, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Different slots, so that B's cancel does not wait for A's seat row.
		bb, err := book(store, b.ID, "b1", slot.Add(time.Hour), t0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []*poller{{store: store, seenVersions: map[string]bool{}}, {store: store, bySince: true, seenVersions: map[string]bool{}}} {
			p.poll(t)
			if len(p.seen) < 2 {
				t.Fatalf("first poll: %d bookings", len(p.seen))
			}
			if !store.Postgres() {
				continue
			}
			// A's attempt ends at t0+1m, completing A's booking, but the
			// transaction stalls (in its result jobs callback, which runs
			// before the booking is stamped) until B's cancel at t0+2m has
			// committed and been polled. (Booking changes build their jobs
			// after the stamp, so that their events carry it: such a stall
			// there would hold the change order's lock and B would wait.)
			attempt, err := store.StartAttempt(context.Background(), &examgate.Attempt{CandidateID: a.ID, ExamCode: "DEMO-101", Seed: 1, StartedAt: t0, Deadline: t0.Add(time.Hour)},
				ba, examgate.Request{CandidateID: a.ID, ClientKey: fmt.Sprintf("a-start-%t", p.bySince), Action: examgate.ActionStart, At: t0}, nil)
			if err != nil {
				t.Fatal(err)
			}
			inside, release := make(chan struct{}), make(chan struct{})
			done := make(chan error, 1)
			go func() {
				_, err := store.CompleteAttempt(context.Background(), attempt, examgate.AttemptSubmitted, t0.Add(time.Minute),
					func([]examgate.Answer) examgate.Score { return examgate.Score{MaxPoints: 1} },
					func(*examgate.Result) ([]examgate.Job, error) {
						close(inside)
						<-release
						return nil, nil
					})
				done <- err
			}()
			<-inside
			gotB, err := cancel(store, bb, fmt.Sprintf("b-cancel-%t", p.bySince), t0.Add(2*time.Minute), nil)
			if err != nil {
				t.Fatal(err)
			}
			p.poll(t)
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			p.poll(t)
			last := p.lastSeen()
			gotA, _ := store.BookingByID(context.Background(), ba.ID)
			if !last[ba.ID].Equal(gotA.UpdatedAt) || !last[bb.ID].Equal(gotB.UpdatedAt) || !gotA.UpdatedAt.After(gotB.UpdatedAt) {
				t.Fatalf("poller (bySince %t) saw %v; A is at %s, B at %s", p.bySince, last, gotA.UpdatedAt, gotB.UpdatedAt)
			}
			// Book again for the next poller.
			if ba, err = book(store, a.ID, fmt.Sprintf("a2-%t", p.bySince), slot, t0, nil); err != nil {
				t.Fatal(err)
			}
			if bb, err = book(store, b.ID, fmt.Sprintf("b2-%t", p.bySince), slot.Add(time.Hour), t0, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestPollingUnderConcurrentChanges: writers book, reschedule and cancel
// concurrently while two pollers (one by cursor, one by updatedSince) follow
// the listing. Every committed change is seen (as itself or as a later
// version of the same booking), none twice, in increasing order, and the
// pollers end on every booking's current state.
func TestPollingUnderConcurrentChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		const writers, rounds = 6, 8
		slot := t0.Add(72 * time.Hour)
		var mu sync.Mutex
		var committed []*examgate.Booking
		note := func(b *examgate.Booking, err error) *examgate.Booking {
			if err != nil {
				t.Error(err)
				return nil
			}
			mu.Lock()
			committed = append(committed, b)
			mu.Unlock()
			return b
		}
		cands := make([]*examgate.Candidate, writers)
		for i := range cands {
			cands[i] = newCandidate(t, store, i)
		}
		pollers := []*poller{{store: store, seenVersions: map[string]bool{}}, {store: store, bySince: true, seenVersions: map[string]bool{}}}
		stop := make(chan struct{})
		var polling sync.WaitGroup
		for _, p := range pollers {
			polling.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						p.poll(t)
					}
				}
			})
		}
		var writing sync.WaitGroup
		for w, c := range cands {
			writing.Go(func() {
				ctx := context.Background()
				for r := range rounds {
					// Clocks of several processes disagree: some writers are behind.
					at := t0.Add(time.Duration(r*10-w) * time.Second)
					b := note(book(store, c.ID, fmt.Sprintf("book-%d", r), slot, at, nil))
					if b == nil {
						return
					}
					b = note(store.MoveBooking(ctx, b, slot.Add(time.Hour), slot.Add(2*time.Hour), 1000,
						examgate.Request{CandidateID: c.ID, ClientKey: fmt.Sprintf("move-%d", r), Action: examgate.ActionReschedule, At: at.Add(time.Second)}, nil))
					if b == nil {
						return
					}
					if note(cancel(store, b, fmt.Sprintf("cancel-%d", r), at.Add(2*time.Second), nil)) == nil {
						return
					}
				}
			})
		}
		writing.Wait()
		close(stop)
		polling.Wait()
		var all []examgate.BookingChange
		for _, p := range pollers {
			p.poll(t) // what is left after the last change
			last := p.lastSeen()
			for _, b := range committed {
				if got, ok := last[b.ID]; !ok || got.Before(b.UpdatedAt) {
					t.Fatalf("poller (bySince %t) missed booking %d changed at %s (last seen %s)", p.bySince, b.ID, b.UpdatedAt, got)
				}
			}
			all = p.seen
		}
		// The pollers end on the current state of every booking.
		cur, err := examgate.PartnerBookings(partnerCtx, store, examgate.BookingFilter{Limit: examgate.PartnerPageMax})
		if err != nil {
			t.Fatal(err)
		}
		if len(cur) != writers*rounds {
			t.Fatalf("%d bookings, want %d", len(cur), writers*rounds)
		}
		final := pollers[0].lastSeen()
		for _, b := range cur {
			if !final[b.ID].Equal(b.UpdatedAt) || b.Status != examgate.BookingCancelled {
				t.Fatalf("booking %d: last seen %s, now %s %s", b.ID, final[b.ID], b.UpdatedAt, b.Status)
			}
		}
		t.Logf("%d changes committed, %d versions seen by the cursor poller", len(committed), len(all))
	})
}

// TestDeliveryStatesOfLTIResults: a learner who came from an LTI platform
// has their result sent as their attempt's score (jobs under
// LTIScoreJobKey), which the partner's delivery state follows like
// Deliveries.StateOf does; a TI learner's result follows its own job.
func TestDeliveryStatesOfLTIResults(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		result := func(i int, jobs func(*examgate.Result) ([]examgate.Job, error)) *examgate.Result {
			c := newCandidate(t, store, i)
			a, err := store.StartAttempt(ctx, &examgate.Attempt{CandidateID: c.ID, ExamCode: "DEMO-101", Seed: 1, StartedAt: t0, Deadline: t0.Add(time.Hour)},
				nil, examgate.Request{CandidateID: c.ID, ClientKey: "start", Action: examgate.ActionStart, At: t0}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := store.CompleteAttempt(ctx, a, examgate.AttemptSubmitted, t0.Add(30*time.Minute),
				func([]examgate.Answer) examgate.Score {
					return examgate.Score{Points: 8, MaxPoints: 10, Percent: 80, PassMark: 70, Passed: true}
				}, jobs)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		lti := result(1, func(r *examgate.Result) ([]examgate.Job, error) {
			return []examgate.Job{{Kind: examgate.JobLTIScore, Payload: []byte(`{}`), Key: examgate.LTIScoreJobKey(r.AttemptID)}}, nil
		})
		ti := result(2, func(r *examgate.Result) ([]examgate.Job, error) { return examgate.TIResultJobs(r, nil) })
		// The LTI score is sent; the TI result is not yet.
		j, err := store.ClaimJob(ctx, []string{examgate.JobLTIScore}, t0.Add(time.Hour), time.Minute)
		if err != nil || j == nil {
			t.Fatalf("claim: %v %v", j, err)
		}
		if err := store.FinishJob(ctx, j.ID, j.Lease, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := store.DeliveryStates(ctx, []int64{lti.ID, ti.ID})
		if err != nil {
			t.Fatal(err)
		}
		if got[lti.ID] != examgate.DeliverySent || got[ti.ID] != examgate.DeliverySending {
			t.Fatalf("states: LTI %q, TI %q; want %q and %q", got[lti.ID], got[ti.ID], examgate.DeliverySent, examgate.DeliverySending)
		}
		// And the same as the staff's view of each result.
		d := &examgate.Deliveries{Store: store}
		for _, r := range []*examgate.Result{lti, ti} {
			if want, err := d.StateOf(ctx, r.ID); err != nil || want != got[r.ID] {
				t.Fatalf("result %d: partner state %q, StateOf %q %v", r.ID, got[r.ID], want, err)
			}
		}
	})
}

// TestListsOfCandidatesLimitEachCandidate: the limit of a candidate's
// bookings and attempts is per candidate, so one with many rows does not
// crowd out the others of the batch, and each list is newest first.
func TestListsOfCandidatesLimitEachCandidate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		busy, quiet := newCandidate(t, store, 1), newCandidate(t, store, 2)
		var busyBookings []int64
		for i := range 5 {
			at := t0.Add(time.Duration(i) * time.Hour)
			b, err := book(store, busy.ID, fmt.Sprint("book-", i), at.Add(48*time.Hour), at, nil)
			if err != nil {
				t.Fatal(err)
			}
			busyBookings = append(busyBookings, b.ID)
			if _, err := cancel(store, b, fmt.Sprint("cancel-", i), at.Add(time.Minute), nil); err != nil {
				t.Fatal(err)
			}
			// An on-demand attempt each time, ended so that another may start.
			a, err := store.StartAttempt(ctx, &examgate.Attempt{CandidateID: busy.ID, ExamCode: "DEMO-101", Seed: 1, StartedAt: at, Deadline: at.Add(time.Hour)},
				nil, examgate.Request{CandidateID: busy.ID, ClientKey: fmt.Sprint("start-", i), Action: examgate.ActionStart, At: at}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.CompleteAttempt(ctx, a, examgate.AttemptSubmitted, at.Add(time.Minute),
				func([]examgate.Answer) examgate.Score { return examgate.Score{MaxPoints: 1} }, nil); err != nil {
				t.Fatal(err)
			}
		}
		// The quiet candidate's only booking and attempt are older than all of those.
		old := t0.Add(-24 * time.Hour)
		qb, err := book(store, quiet.ID, "book", old.Add(72*time.Hour), old, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.StartAttempt(ctx, &examgate.Attempt{CandidateID: quiet.ID, ExamCode: "DEMO-101", Seed: 1, StartedAt: old, Deadline: old.Add(time.Hour)},
			nil, examgate.Request{CandidateID: quiet.ID, ClientKey: "start", Action: examgate.ActionStart, At: old}, nil); err != nil {
			t.Fatal(err)
		}

		ids := []int64{busy.ID, quiet.ID}
		bookings, err := store.BookingsOfCandidates(ctx, ids, 2)
		if err != nil {
			t.Fatal(err)
		}
		if b := bookings[busy.ID]; len(b) != 2 || b[0].ID != busyBookings[4] || b[1].ID != busyBookings[3] {
			t.Fatalf("busy candidate's bookings: %d, want the newest 2 (%d, %d) newest first", len(b), busyBookings[4], busyBookings[3])
		}
		if b := bookings[quiet.ID]; len(b) != 1 || b[0].ID != qb.ID {
			t.Fatalf("quiet candidate's bookings: %d, want their one booking", len(b))
		}
		attempts, err := store.AttemptsOfCandidates(ctx, ids, 2)
		if err != nil {
			t.Fatal(err)
		}
		if a := attempts[busy.ID]; len(a) != 2 || !a[0].StartedAt.Equal(t0.Add(4*time.Hour)) || !a[1].StartedAt.Equal(t0.Add(3*time.Hour)) {
			t.Fatalf("busy candidate's attempts: %+v, want the newest 2 newest first", a)
		}
		if a := attempts[quiet.ID]; len(a) != 1 {
			t.Fatalf("quiet candidate's attempts: %d, want their one attempt", len(a))
		}
	})
}
