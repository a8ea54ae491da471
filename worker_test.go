package examgate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

var wt0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *testClock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// The payload holds personal data that must never reach the logs.
const secretPayload = `{"email":"ada@example.com"}`

type workerFixture struct {
	store *db.DB
	clock *testClock
	w     *examgate.Worker
	logs  *bytes.Buffer
	id    int64
}

// newWorker enqueues one "lms" job at wt0 and returns a worker over the
// store with h as its handler.
func newWorker(t *testing.T, store *db.DB, job examgate.Job, h examgate.JobHandler) *workerFixture {
	t.Helper()
	f := &workerFixture{store: store, clock: &testClock{t: wt0}, logs: &bytes.Buffer{}}
	f.w = &examgate.Worker{
		Store:   store,
		Clock:   f.clock,
		Logger:  slog.New(slog.NewTextHandler(f.logs, nil)),
		Backoff: func(attempt int) time.Duration { return time.Duration(attempt) * time.Minute },
	}
	f.w.Handle("lms", h)
	if job.Kind == "" {
		job.Kind = "lms"
	}
	if job.Payload == nil {
		job.Payload = json.RawMessage(secretPayload)
	}
	if err := store.Enqueue(context.Background(), wt0, job); err != nil {
		t.Fatal(err)
	}
	jobs, err := store.Jobs(context.Background(), examgate.JobFilter{Limit: 1})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs = %v, %v", jobs, err)
	}
	f.id = jobs[0].ID
	return f
}

func (f *workerFixture) runOnce(t *testing.T, wantWorked bool) {
	t.Helper()
	worked, err := f.w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if worked != wantWorked {
		t.Fatalf("RunOnce worked = %v, want %v", worked, wantWorked)
	}
}

func (f *workerFixture) job(t *testing.T) *examgate.QueuedJob {
	t.Helper()
	j, err := f.store.JobByID(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestWorkerSuccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		calls := 0
		f := newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
			calls++
			deadline, ok := ctx.Deadline()
			if !ok || time.Until(deadline) >= examgate.DefaultLease {
				t.Errorf("handler deadline %v, %v: want one inside the lease", deadline, ok)
			}
			if string(job.Payload) != secretPayload || job.Attempts != 1 || job.State != examgate.JobRunning {
				t.Errorf("handler got %+v", job)
			}
			return nil
		})
		f.runOnce(t, true)
		f.runOnce(t, false)
		if j := f.job(t); calls != 1 || j.State != examgate.JobDone || j.DoneAt == nil || !j.DoneAt.Equal(wt0) {
			t.Fatalf("calls = %d, job = %+v", calls, j)
		}
	})
}

// A handler that uses up its whole time (a receiver answering in 10 s or
// more) still gets its outcome recorded: the store's time starts when the
// handler returns. The job is retried, not left running until its lease
// runs out and then counted as a crash.
func TestWorkerRecordsASlowHandler(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		f := newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
			<-ctx.Done() // the receiver never answers: the handler's own deadline ends it
			return fmt.Errorf("POST to receiver.example.com: %w", ctx.Err())
		})
		f.w.Lease = 250 * time.Millisecond // the handler gets 200 ms
		f.w.StoreTimeout = 100 * time.Millisecond
		f.runOnce(t, true)
		j := f.job(t)
		if j.State != examgate.JobQueued || j.LostLeases != 0 || !strings.Contains(j.LastError, "receiver.example.com") ||
			!strings.Contains(j.LastError, "did not finish within 200ms") {
			t.Fatalf("job after a handler that timed out = %+v", j)
		}
	})
}

// Alive tells a turning loop from one that never ran or stopped.
func TestWorkerAlive(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	ran := make(chan struct{})
	f := newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
		close(ran)
		return nil
	})
	if f.w.Alive(time.Now()) {
		t.Fatal("alive before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.w.Run(ctx) }()
	<-ran
	now := time.Now()
	if !f.w.Alive(now) || f.w.Alive(now.Add(3*examgate.DefaultLease)) {
		t.Fatal("Alive does not follow the loop")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWorkerRetriesWithBackoff(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		f := newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
			return errors.New("lms down")
		})
		f.runOnce(t, true)
		j := f.job(t)
		if j.State != examgate.JobQueued || j.Attempts != 1 || j.LastError != "lms down" || !j.RunAt.Equal(wt0.Add(time.Minute)) {
			t.Fatalf("after attempt 1: %+v", j)
		}
		f.clock.Add(59 * time.Second)
		f.runOnce(t, false)
		f.clock.Add(time.Second)
		f.runOnce(t, true)
		if j := f.job(t); j.Attempts != 2 || !j.RunAt.Equal(wt0.Add(3*time.Minute)) {
			t.Fatalf("after attempt 2: %+v", j)
		}
		logs := f.logs.String()
		for _, want := range []string{fmt.Sprintf("job=%d", f.id), "kind=lms", "attempt=1", "attempt=2", `error="lms down"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %s:\n%s", want, logs)
			}
		}
		if strings.Contains(logs, "ada@example.com") {
			t.Errorf("logs show the payload:\n%s", logs)
		}
	})
}

func TestWorkerRetryAfter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		f := newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
			return fmt.Errorf("post result: %w", examgate.RetryAfter(90*time.Second, errors.New("429 Too Many Requests")))
		})
		f.runOnce(t, true)
		j := f.job(t)
		if j.State != examgate.JobQueued || !j.RunAt.Equal(wt0.Add(90*time.Second)) || !strings.Contains(j.LastError, "429") {
			t.Fatalf("job = %+v", j)
		}
	})
}

// Retry-After: 0, or a date already past, is no reason to retry at once:
// the usual backoff applies.
func TestWorkerRetryAfterNowBacksOff(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		f := newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
			return examgate.RetryAfter(0, errors.New("429 Too Many Requests"))
		})
		f.runOnce(t, true)
		if j := f.job(t); j.State != examgate.JobQueued || !j.RunAt.Equal(wt0.Add(time.Minute)) {
			t.Fatalf("job = %+v, want a retry after the first backoff", j)
		}
		f.runOnce(t, false)
	})
}

func TestWorkerPermanentError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		fail := true
		f := newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
			if fail {
				return examgate.Permanent(errors.New("course not found"))
			}
			return nil
		})
		f.runOnce(t, true)
		j := f.job(t)
		if j.State != examgate.JobFailed || j.LastError != "course not found" || j.Attempts != 1 || j.DoneAt == nil {
			t.Fatalf("job = %+v", j)
		}
		f.clock.Add(time.Hour)
		f.runOnce(t, false)

		// Staff fix the course and retry the job.
		fail = false
		if err := store.RequeueJob(context.Background(), f.id, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		f.runOnce(t, true)
		if j := f.job(t); j.State != examgate.JobDone || j.Attempts != 1 {
			t.Fatalf("after requeue: %+v", j)
		}
	})
}

func TestWorkerGivesUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		f := newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
			return errors.New("lms down")
		})
		f.w.Backoff = func(int) time.Duration { return 24 * time.Hour }
		// Attempts at 0, 1, 2 and 3 days; a fifth would come after the
		// default three days.
		for day := range 4 {
			f.clock.Set(wt0.Add(time.Duration(day) * 24 * time.Hour))
			f.runOnce(t, true)
		}
		j := f.job(t)
		if j.State != examgate.JobFailed || j.Attempts != 4 || j.LastError != "gave up after 4 attempts: lms down" {
			t.Fatalf("job = %+v", j)
		}
		f.clock.Add(30 * 24 * time.Hour)
		f.runOnce(t, false)
	})
}

func TestWorkerRecoversPanics(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		calls := 0
		f := newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
			calls++
			if calls == 1 {
				var m map[string]int
				m["boom"]++
			}
			return nil
		})
		f.runOnce(t, true)
		j := f.job(t)
		if j.State != examgate.JobQueued || !strings.HasPrefix(j.LastError, "panic: ") || !j.RunAt.Equal(wt0.Add(time.Minute)) {
			t.Fatalf("after panic: %+v", j)
		}
		f.clock.Add(time.Minute)
		f.runOnce(t, true)
		if j := f.job(t); j.State != examgate.JobDone || calls != 2 {
			t.Fatalf("calls = %d, job = %+v", calls, j)
		}
	})
}

func TestWorkerAfterCrash(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		calls := 0
		f := newWorker(t, store, examgate.Job{MaxAge: time.Hour}, func(ctx context.Context, job *examgate.QueuedJob) error {
			calls++
			return nil
		})
		// A process claims the job and is killed.
		if _, err := store.ClaimJob(ctx, []string{"lms"}, wt0, time.Minute); err != nil {
			t.Fatal(err)
		}
		f.runOnce(t, false) // its lease holds
		f.clock.Add(2 * time.Minute)
		f.runOnce(t, true)
		if j := f.job(t); calls != 1 || j.State != examgate.JobDone || j.Attempts != 2 {
			t.Fatalf("calls = %d, job = %+v", calls, j)
		}

		// A job that kills its worker every time is given up after its
		// deadline instead of taking down workers forever.
		if err := store.Enqueue(ctx, wt0, examgate.Job{Kind: "lms", Payload: json.RawMessage(`{}`), MaxAge: time.Hour}); err != nil {
			t.Fatal(err)
		}
		crashed, err := store.ClaimJob(ctx, []string{"lms"}, wt0.Add(2*time.Minute), time.Minute)
		if err != nil || crashed == nil {
			t.Fatalf("claim = %v, %v", crashed, err)
		}
		f.clock.Set(wt0.Add(2 * time.Hour))
		f.runOnce(t, true)
		j, _ := store.JobByID(ctx, crashed.ID)
		if calls != 1 || j.State != examgate.JobFailed || j.LastError != "gave up after 1 attempt: deadline passed" {
			t.Fatalf("calls = %d, job = %+v", calls, j)
		}
	})
}

// A job whose worker stops every time it runs it (it crashes the process)
// is failed after MaxLostLeases such stops, long before its deadline; one
// that a worker finished after a crash starts its count again on requeue.
func TestWorkerFailsJobThatKeepsKillingWorkers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		calls := 0
		f := newWorker(t, store, examgate.Job{MaxAge: 72 * time.Hour}, func(ctx context.Context, job *examgate.QueuedJob) error {
			calls++
			return nil
		})
		at := wt0
		for i := range examgate.MaxLostLeases {
			// A process claims it and dies: nobody settles the claim.
			j, err := store.ClaimJob(ctx, []string{"lms"}, at, time.Minute)
			if err != nil || j == nil || j.LostLeases != i {
				t.Fatalf("claim %d: %+v, %v; want %d lost leases so far", i+1, j, err, i)
			}
			at = at.Add(2 * time.Minute)
		}
		f.clock.Set(at)
		f.runOnce(t, true)
		j := f.job(t)
		if calls != 0 || j.State != examgate.JobFailed || !strings.Contains(j.LastError, "stopped 5 times without finishing") {
			t.Fatalf("calls = %d, job = %+v", calls, j)
		}
		// Staff retry it: it runs, and its count starts again.
		if err := store.RequeueJob(ctx, f.id, at); err != nil {
			t.Fatal(err)
		}
		f.runOnce(t, true)
		if j := f.job(t); calls != 1 || j.State != examgate.JobDone {
			t.Fatalf("after the retry: calls = %d, job = %+v", calls, j)
		}
	})
}

func TestWorkerLostLease(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		var f *workerFixture
		var other *examgate.QueuedJob
		f = newWorker(t, store, examgate.Job{}, func(ctx context.Context, job *examgate.QueuedJob) error {
			// The handler overruns its lease and another process takes over.
			f.clock.Add(examgate.DefaultLease + time.Second)
			var err error
			other, err = f.store.ClaimJob(ctx, []string{"lms"}, f.clock.Now(), time.Minute)
			if err != nil || other == nil {
				t.Errorf("second claim = %v, %v", other, err)
			}
			return nil
		})
		_, err := f.w.RunOnce(context.Background())
		if examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("RunOnce = %v, want CONFLICT", err)
		}
		if other == nil {
			t.FailNow()
		}
		if j := f.job(t); j.State != examgate.JobRunning || j.Lease != other.Lease || j.Attempts != 2 {
			t.Fatalf("job = %+v", j)
		}
	})
}

// claimSignal reports every claim so that a test knows when Run has looked
// for work, without sleeping.
type claimSignal struct {
	examgate.JobStore
	claims chan *examgate.QueuedJob
}

func (s *claimSignal) ClaimJob(ctx context.Context, kinds []string, now time.Time, lease time.Duration) (*examgate.QueuedJob, error) {
	j, err := s.JobStore.ClaimJob(ctx, kinds, now, lease)
	s.claims <- j
	return j, err
}

func TestWorkerRunWakesUp(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	sig := &claimSignal{JobStore: store, claims: make(chan *examgate.QueuedJob, 10)}
	handled := make(chan int64, 1)
	w := &examgate.Worker{
		Store: sig, Clock: examgate.ClockFunc(func() time.Time { return wt0 }),
		Logger: slog.New(slog.DiscardHandler), Idle: time.Hour, // only Wake can bring it back in time
	}
	w.Handle("lms", func(ctx context.Context, job *examgate.QueuedJob) error {
		handled <- job.ID
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx) }()

	timeout := time.After(10 * time.Second) // a failure guard, not synchronisation
	select {
	case j := <-sig.claims:
		if j != nil {
			t.Fatalf("claimed %+v from an empty queue", j)
		}
	case <-timeout:
		t.Fatal("Run never looked for work")
	}
	if err := store.Enqueue(ctx, wt0, examgate.Job{Kind: "lms"}); err != nil {
		t.Fatal(err)
	}
	w.Wake()
	select {
	case <-handled:
	case <-timeout:
		t.Fatal("Wake did not bring the worker back")
	}
	cancel()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-timeout:
		t.Fatal("Run did not stop")
	}
}

func TestWorkerConfig(t *testing.T) {
	w := &examgate.Worker{Store: dbtest.OpenSQLite(t)}
	if _, err := w.RunOnce(context.Background()); err == nil {
		t.Fatal("RunOnce without handlers succeeded")
	}
	w.Handle("lms", func(context.Context, *examgate.QueuedJob) error { return nil })
	defer func() {
		if recover() == nil {
			t.Fatal("a second handler for a kind did not panic")
		}
	}()
	w.Handle("lms", func(context.Context, *examgate.QueuedJob) error { return nil })
}

func TestDefaultBackoff(t *testing.T) {
	for _, c := range []struct {
		attempt int
		base    time.Duration
	}{{1, 10 * time.Second}, {2, 20 * time.Second}, {5, 160 * time.Second}, {9, 2560 * time.Second}, {10, time.Hour}, {1000, time.Hour}} {
		for range 50 {
			if d := examgate.DefaultBackoff(c.attempt); d < c.base/2 || d >= c.base*3/2 {
				t.Fatalf("DefaultBackoff(%d) = %s, want within ±50%% of %s", c.attempt, d, c.base)
			}
		}
	}
}

// TestWorkersShareQueue runs workers over five store handles on one database,
// as five processes would, and checks that each job is worked exactly once
// and that jobs with a key run one at a time in order.
func TestWorkersShareQueue(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		first, path := dbtest.OpenSQLiteFile(t)
		testWorkersShareQueue(t, first, path)
	})
	t.Run("postgres", func(t *testing.T) {
		url := dbtest.PostgresURL(t)
		first := openStore(t, url)
		if err := first.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		testWorkersShareQueue(t, first, url)
	})
}

func openStore(t *testing.T, dsn string) *db.DB {
	t.Helper()
	s, err := db.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testWorkersShareQueue(t *testing.T, first *db.DB, dsn string) {
	const nJobs, nHandles, perHandle = 200, 5, 2
	ctx := context.Background()
	jobs := make([]examgate.Job, nJobs)
	for i := range jobs {
		jobs[i] = examgate.Job{Kind: "lms", Payload: json.RawMessage(fmt.Sprint(i))}
		if i%2 == 0 {
			jobs[i].Key = fmt.Sprintf("booking:%d", i%5)
		}
	}
	if err := first.Enqueue(ctx, wt0, jobs...); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		calls    = map[int64]int{}
		running  = map[string]bool{}
		lastID   = map[string]int64{}
		finished atomic.Int64
	)
	handler := func(ctx context.Context, job *examgate.QueuedJob) error {
		mu.Lock()
		calls[job.ID]++
		if job.Key != "" {
			if running[job.Key] || job.ID < lastID[job.Key] {
				t.Errorf("job %d of %s ran beside or after a later one", job.ID, job.Key)
			}
			running[job.Key], lastID[job.Key] = true, job.ID
		}
		mu.Unlock()
		runtime.Gosched() // let other workers in while this one "works"
		mu.Lock()
		delete(running, job.Key)
		mu.Unlock()
		finished.Add(1)
		return nil
	}

	var wg sync.WaitGroup
	for h := range nHandles {
		store := first
		if h > 0 {
			store = openStore(t, dsn)
		}
		for range perHandle {
			w := &examgate.Worker{Store: store, Clock: examgate.ClockFunc(func() time.Time { return wt0 }),
				Logger: slog.New(slog.DiscardHandler)}
			w.Handle("lms", handler)
			wg.Go(func() {
				// Keyed jobs may be blocked behind one another worker holds,
				// so an empty claim does not mean the queue is drained.
				for i := 0; finished.Load() < nJobs; i++ {
					if _, err := w.RunOnce(ctx); err != nil {
						t.Error(err)
						return
					}
					if i > 100*nJobs {
						t.Error("queue not drained")
						return
					}
				}
			})
		}
	}
	wg.Wait()

	if len(calls) != nJobs {
		t.Fatalf("%d distinct jobs handled, want %d", len(calls), nJobs)
	}
	for id, n := range calls {
		if n != 1 {
			t.Errorf("job %d handled %d times", id, n)
		}
	}
	done, err := first.Jobs(ctx, examgate.JobFilter{State: examgate.JobDone, Limit: 500})
	if err != nil || len(done) != nJobs {
		t.Fatalf("%d jobs done, want %d (%v)", len(done), nJobs, err)
	}
}
