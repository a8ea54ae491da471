package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/uptrace/bun"
)

var jobT0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func payload(s string) json.RawMessage { return json.RawMessage(`{"n":"` + s + `"}`) }

func mustEnqueue(t *testing.T, store *db.DB, jobs ...examgate.Job) {
	t.Helper()
	if err := store.Enqueue(context.Background(), jobT0, jobs...); err != nil {
		t.Fatal(err)
	}
}

// mustClaim claims one job of the kinds at now and fails unless its payload
// is want ("" for no job at all).
func mustClaim(t *testing.T, store *db.DB, kinds []string, now time.Time, want string) *examgate.QueuedJob {
	t.Helper()
	j, err := store.ClaimJob(context.Background(), kinds, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case want == "" && j != nil:
		t.Fatalf("claimed job %d %s, want none", j.ID, j.Payload)
	case want == "":
	case j == nil:
		t.Fatalf("claimed nothing, want %s", want)
	case string(j.Payload) != string(payload(want)):
		t.Fatalf("claimed %s, want %s", j.Payload, payload(want))
	}
	return j
}

func TestEnqueueTx(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		boom := errors.New("booking refused")
		err := store.Bun().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := db.EnqueueTx(ctx, tx, jobT0, examgate.Job{Kind: "email", Payload: payload("rolled back")}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if jobs, _ := store.Jobs(ctx, examgate.JobFilter{}); len(jobs) != 0 {
			t.Fatalf("rolled back transaction left %d jobs", len(jobs))
		}

		err = store.Bun().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return db.EnqueueTx(ctx, tx, jobT0,
				examgate.Job{Kind: "email", Payload: payload("a"), Key: "booking:1"},
				examgate.Job{Kind: "lms", RunAt: jobT0.Add(time.Hour), MaxAge: time.Hour})
		})
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := store.Jobs(ctx, examgate.JobFilter{})
		if err != nil || len(jobs) != 2 {
			t.Fatalf("jobs = %+v, %v", jobs, err)
		}
		a, b := jobs[1], jobs[0] // newest first
		if a.Kind != "email" || a.Key != "booking:1" || a.State != examgate.JobQueued || a.Attempts != 0 ||
			!a.RunAt.Equal(jobT0) || !a.GiveUpAt.Equal(jobT0.Add(examgate.DefaultJobMaxAge)) ||
			!a.CreatedAt.Equal(jobT0) || a.LockedUntil != nil || a.DoneAt != nil {
			t.Fatalf("job a = %+v", a)
		}
		var p struct{ N string }
		if err := json.Unmarshal(a.Payload, &p); err != nil || p.N != "a" {
			t.Fatalf("payload %s: %v", a.Payload, err)
		}
		// The deadline counts from RunAt; an empty payload is JSON null.
		if !b.RunAt.Equal(jobT0.Add(time.Hour)) || !b.GiveUpAt.Equal(jobT0.Add(2*time.Hour)) || string(b.Payload) != "null" {
			t.Fatalf("job b = %+v", b)
		}

		for _, bad := range []examgate.Job{{Payload: payload("x")}, {Kind: "email", Payload: json.RawMessage(`{`)}} {
			if err := store.Enqueue(ctx, jobT0, bad); examgate.ErrorCode(err) != examgate.EINVALID {
				t.Fatalf("Enqueue(%+v) = %v, want INVALID", bad, err)
			}
		}
	})
}

func TestClaimJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		all := []string{"email", "lms"}
		mustEnqueue(t, store,
			examgate.Job{Kind: "email", Payload: payload("later"), RunAt: jobT0.Add(2 * time.Minute)},
			examgate.Job{Kind: "email", Payload: payload("sooner"), RunAt: jobT0.Add(time.Minute)},
			examgate.Job{Kind: "lms", Payload: payload("lms")},
		)
		mustClaim(t, store, []string{"email"}, jobT0, "")  // not before run_at
		mustClaim(t, store, nil, jobT0.Add(time.Hour), "") // no kinds, no jobs
		lms := mustClaim(t, store, all, jobT0, "lms")
		if lms.State != examgate.JobRunning || lms.Attempts != 1 || lms.Lease == "" ||
			lms.LockedUntil == nil || !lms.LockedUntil.Equal(jobT0.Add(time.Minute)) {
			t.Fatalf("claimed = %+v", lms)
		}
		now := jobT0.Add(5 * time.Minute)
		mustClaim(t, store, []string{"lms"}, jobT0.Add(30*time.Second), "") // the lms job is leased
		sooner := mustClaim(t, store, []string{"email"}, now, "sooner")     // run_at order, not id order
		if err := store.FinishJob(ctx, sooner.ID, sooner.Lease, now); err != nil {
			t.Fatal(err)
		}
		done, _ := store.JobByID(ctx, sooner.ID)
		if done.State != examgate.JobDone || done.DoneAt == nil || !done.DoneAt.Equal(now) || done.LockedUntil != nil {
			t.Fatalf("finished = %+v", done)
		}

		// The lms worker died: its lease (jobT0+1m) has expired at now.
		again := mustClaim(t, store, []string{"lms"}, now, "lms")
		if again.ID != lms.ID || again.Attempts != 2 || again.Lease == lms.Lease {
			t.Fatalf("reclaimed = %+v, first claim %+v", again, lms)
		}
		for name, err := range map[string]error{
			"finish": store.FinishJob(ctx, lms.ID, lms.Lease, now),
			"retry":  store.RetryJob(ctx, lms.ID, lms.Lease, now, "late", now),
			"fail":   store.FailJob(ctx, lms.ID, lms.Lease, "late", now),
		} {
			if examgate.ErrorCode(err) != examgate.ECONFLICT {
				t.Fatalf("%s with the expired lease: %v, want CONFLICT", name, err)
			}
		}
		if err := store.FinishJob(ctx, again.ID, again.Lease, now); err != nil {
			t.Fatal(err)
		}
		if err := store.FinishJob(ctx, again.ID, again.Lease, now); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("second finish: %v, want CONFLICT", err)
		}
		mustClaim(t, store, all, now, "later")
		mustClaim(t, store, all, now.Add(30*time.Second), "") // "later" is leased, the rest done
	})
}

func TestJobRetryFailRequeue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		mustEnqueue(t, store, examgate.Job{Kind: "lms", Payload: payload("x"), MaxAge: time.Hour})
		kinds := []string{"lms"}
		j := mustClaim(t, store, kinds, jobT0, "x")
		if err := store.RetryJob(ctx, j.ID, j.Lease, jobT0.Add(10*time.Minute), "503 from LMS", jobT0); err != nil {
			t.Fatal(err)
		}
		got, _ := store.JobByID(ctx, j.ID)
		if got.State != examgate.JobQueued || !got.RunAt.Equal(jobT0.Add(10*time.Minute)) || got.LastError != "503 from LMS" || got.LockedUntil != nil {
			t.Fatalf("retried = %+v", got)
		}
		if err := store.RequeueJob(ctx, j.ID, jobT0); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("requeue of a queued job: %v, want CONFLICT", err)
		}
		mustClaim(t, store, kinds, jobT0.Add(9*time.Minute), "")
		j = mustClaim(t, store, kinds, jobT0.Add(10*time.Minute), "x")
		long := strings.Repeat("é", 3000)
		if err := store.FailJob(ctx, j.ID, j.Lease, long, jobT0.Add(11*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ = store.JobByID(ctx, j.ID)
		if got.State != examgate.JobFailed || got.Attempts != 2 || got.DoneAt == nil || len(got.LastError) > 2010 || !strings.HasPrefix(got.LastError, "éé") {
			t.Fatalf("failed = %+v", got)
		}
		mustClaim(t, store, kinds, jobT0.Add(time.Hour), "")

		// Staff retry: runs now, attempts afresh, a new hour to succeed.
		now := jobT0.Add(48 * time.Hour)
		if err := store.RequeueJob(ctx, j.ID, now); err != nil {
			t.Fatal(err)
		}
		got, _ = store.JobByID(ctx, j.ID)
		if got.State != examgate.JobQueued || got.Attempts != 0 || !got.RunAt.Equal(now) ||
			!got.GiveUpAt.Equal(now.Add(time.Hour)) || got.DoneAt != nil {
			t.Fatalf("requeued = %+v", got)
		}
		if j := mustClaim(t, store, kinds, now, "x"); j.Attempts != 1 {
			t.Fatalf("attempts after requeue = %d", j.Attempts)
		}
		if _, err := store.JobByID(ctx, 999); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("JobByID(999) = %v", err)
		}
		if err := store.RequeueJob(ctx, 999, now); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("RequeueJob(999) = %v", err)
		}
	})
}

func TestJobOrderingKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		kinds := []string{"email", "lms"}
		mustEnqueue(t, store,
			examgate.Job{Kind: "email", Payload: payload("k1"), Key: "K"},
			examgate.Job{Kind: "lms", Payload: payload("k2"), Key: "K"}, // other kinds share the order
			examgate.Job{Kind: "email", Payload: payload("k3"), Key: "K"},
			examgate.Job{Kind: "email", Payload: payload("other"), Key: "L"},
			examgate.Job{Kind: "email", Payload: payload("none")},
		)
		now := jobT0
		k1 := mustClaim(t, store, kinds, now, "k1")
		mustClaim(t, store, kinds, now, "other") // other keys are unaffected
		mustClaim(t, store, kinds, now, "none")
		mustClaim(t, store, kinds, now, "") // k2 waits while k1 runs

		// k1 is retried: k2 still waits, although it is due before k1.
		if err := store.RetryJob(ctx, k1.ID, k1.Lease, now.Add(time.Minute), "try again", now); err != nil {
			t.Fatal(err)
		}
		mustClaim(t, store, kinds, now, "")
		k1 = mustClaim(t, store, kinds, now.Add(time.Minute), "k1")
		if err := store.FinishJob(ctx, k1.ID, k1.Lease, now); err != nil {
			t.Fatal(err)
		}
		k2 := mustClaim(t, store, kinds, now, "k2")
		mustClaim(t, store, kinds, now, "")
		if err := store.FailJob(ctx, k2.ID, k2.Lease, "rejected", now); err != nil {
			t.Fatal(err)
		}
		// A failed job no longer holds up the key.
		k3 := mustClaim(t, store, kinds, now, "k3")

		// A staff requeue of k2 while k3 runs: k2 waits for k3's lease, not
		// run beside it; k3 in turn does not wait for the requeued k2.
		if err := store.RequeueJob(ctx, k2.ID, now); err != nil {
			t.Fatal(err)
		}
		mustClaim(t, store, kinds, now, "")
		if err := store.FinishJob(ctx, k3.ID, k3.Lease, now); err != nil {
			t.Fatal(err)
		}
		mustClaim(t, store, kinds, now, "k2")
	})
}

func TestJobOrderingKeyAfterCrash(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		kinds := []string{"email"}
		mustEnqueue(t, store,
			examgate.Job{Kind: "email", Payload: payload("k1"), Key: "K"},
			examgate.Job{Kind: "email", Payload: payload("k2"), Key: "K"})
		k1 := mustClaim(t, store, kinds, jobT0, "k1")
		// Its worker dies: k1 is taken again, k2 still waits for it.
		later := jobT0.Add(time.Hour)
		if again := mustClaim(t, store, kinds, later, "k1"); again.ID != k1.ID {
			t.Fatalf("reclaimed %d, want %d", again.ID, k1.ID)
		}
		mustClaim(t, store, kinds, later, "")
	})
}

func TestJobsListing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		mustEnqueue(t, store,
			examgate.Job{Kind: "email", Payload: payload("1"), Key: "booking:1"},
			examgate.Job{Kind: "email", Payload: payload("2"), Key: "booking:2"},
			examgate.Job{Kind: "lms", Payload: payload("3"), Key: "booking:1"},
			examgate.Job{Kind: "lms", Payload: payload("4")},
		)
		j := mustClaim(t, store, []string{"email"}, jobT0, "1")
		if err := store.FailJob(ctx, j.ID, j.Lease, "no such course", jobT0); err != nil {
			t.Fatal(err)
		}
		payloads := func(f examgate.JobFilter) string {
			t.Helper()
			jobs, err := store.Jobs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, j := range jobs {
				var p struct{ N string }
				_ = json.Unmarshal(j.Payload, &p)
				s = append(s, p.N)
			}
			return strings.Join(s, ",")
		}
		for _, c := range []struct {
			f    examgate.JobFilter
			want string
		}{
			{examgate.JobFilter{}, "4,3,2,1"},
			{examgate.JobFilter{Kind: "email"}, "2,1"},
			{examgate.JobFilter{Kind: "email", State: examgate.JobFailed}, "1"},
			{examgate.JobFilter{Kind: "lms", State: examgate.JobFailed}, ""},
			{examgate.JobFilter{State: examgate.JobQueued}, "4,3,2"},
			{examgate.JobFilter{Key: "booking:1"}, "3,1"},
			{examgate.JobFilter{Limit: 2}, "4,3"},
		} {
			if got := payloads(c.f); got != c.want {
				t.Errorf("Jobs(%+v) = %s, want %s", c.f, got, c.want)
			}
		}
		failed, _ := store.Jobs(ctx, examgate.JobFilter{State: examgate.JobFailed})
		if len(failed) != 1 || failed[0].LastError != "no such course" || failed[0].Attempts != 1 {
			t.Fatalf("failed = %+v", failed)
		}
	})
}

// A claim that cannot reach the database is an outage (UNAVAILABLE), not
// an internal error: the worker's log says what happened.
func TestClaimJobUnreachableIsUnavailable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := store.ClaimJob(ctx, []string{"email"}, time.Now(), time.Minute)
		if examgate.ErrorCode(err) != examgate.EUNAVAILABLE {
			t.Fatalf("claim past its deadline: %v", err)
		}
	})
}
