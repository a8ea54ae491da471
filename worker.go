package examgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Job states.
const (
	JobQueued  = "queued"  // waiting for its run_at
	JobRunning = "running" // claimed by a worker until its lease ends
	JobDone    = "done"
	JobFailed  = "failed" // permanent error or gave up; staff may requeue it
)

// DefaultJobMaxAge is how long a job is retried when Job.MaxAge is zero: long
// enough to ride out a partner's weekend outage.
const DefaultJobMaxAge = 3 * 24 * time.Hour

// QueuedJob is a Job as stored, with its progress.
type QueuedJob struct {
	ID          int64
	Kind        string
	Key         string // ordering key; "" for none
	State       string // JobQueued, JobRunning, JobDone or JobFailed
	LastError   string
	Lease       string // token of the current claim; the store accepts results only with it
	Payload     json.RawMessage
	Attempts    int // claims so far, including the current one
	LostLeases  int // claims made after the previous claim's lease ran out
	RunAt       time.Time
	GiveUpAt    time.Time // no retry is scheduled after this
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LockedUntil *time.Time // lease end while running
	DoneAt      *time.Time // when it became done or failed
}

// JobFilter selects jobs for the staff listing; empty fields match all.
type JobFilter struct {
	Kind, State, Key string
	Kinds            []string // any of these kinds
	BeforeID         int64    // only jobs with a smaller id: the cursor of the next page
	Limit            int      // 0 means 100; at most 500
}

// JobStore is the queue a Worker drains. Every result call carries the lease
// token from the claim and fails with ECONFLICT when the job was claimed again
// meanwhile (this worker's lease expired), so that two workers never both
// settle one job.
type JobStore interface {
	// ClaimJob takes the next due job of one of the kinds, or returns nil, nil
	// when none is due. Due means queued with run_at <= now, or running with an
	// expired lease (its worker died), and not waiting behind an earlier job
	// with the same key.
	ClaimJob(ctx context.Context, kinds []string, now time.Time, lease time.Duration) (*QueuedJob, error)
	FinishJob(ctx context.Context, id int64, lease string, now time.Time) error
	RetryJob(ctx context.Context, id int64, lease string, runAt time.Time, errMsg string, now time.Time) error
	FailJob(ctx context.Context, id int64, lease string, errMsg string, now time.Time) error
}

// JobHandler does the work of one kind of job. It returns nil when done, an
// error from RetryAfter or Permanent to steer the retry, or any other error to
// be retried with backoff. It must be idempotent: after a crash the job runs
// again even if the handler had already done its work.
type JobHandler func(ctx context.Context, job *QueuedJob) error

// RetryLater asks for the job to run again after a delay chosen by the
// handler, e.g. a partner's Retry-After, instead of the backoff.
type RetryLater struct {
	After time.Duration
	Err   error
}

func (e *RetryLater) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("retry after %s", e.After)
	}
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}

func (e *RetryLater) Unwrap() error { return e.Err }

// RetryAfter returns an error that makes the worker retry the job after d.
func RetryAfter(d time.Duration, err error) error { return &RetryLater{After: max(d, 0), Err: err} }

// PermanentError marks a failure that retrying cannot fix, e.g. a 4xx.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent returns an error that makes the worker fail the job at once.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("permanent failure")
	}
	return &PermanentError{Err: err}
}

// Worker claims jobs from a JobStore and runs their handlers. Several workers,
// in one process or many, may share a store. Register handlers with Handle
// before calling Run or RunOnce.
type Worker struct {
	Store  JobStore
	Clock  Clock        // default SystemClock
	Logger *slog.Logger // default slog.Default()
	Lease  time.Duration
	// StoreTimeout bounds the write of a job's outcome once its handler has
	// returned; zero means DefaultStoreTimeout.
	StoreTimeout time.Duration
	Idle         time.Duration                   // poll interval when nothing is due; default 1s
	Backoff      func(attempt int) time.Duration // delay after a failed attempt; default DefaultBackoff

	mu       sync.RWMutex
	handlers map[string]JobHandler
	lastLoop atomic.Int64 // Unix nanoseconds of Run's latest turn, for readiness
	wakeOnce sync.Once
	wake     chan struct{}
}

// DefaultLease is how long a claimed job is reserved for its worker; after
// that another worker may take it, assuming the first one died.
const DefaultLease = 2 * time.Minute

// MaxLostLeases is how many times a job's worker may stop while running it
// (its lease running out) before the job is failed, for staff to look at
// and retry: a job that crashes its process fails in minutes, not days.
const MaxLostLeases = 5

// DefaultStoreTimeout bounds the write of a job's result, which is made
// even when the worker's context was cancelled so that a stopped worker does
// not leave the job waiting for its lease to expire. It starts when the
// handler has returned.
const DefaultStoreTimeout = 10 * time.Second

func (w *Worker) storeTimeout() time.Duration {
	if w.StoreTimeout <= 0 {
		return DefaultStoreTimeout
	}
	return w.StoreTimeout
}

// Handle registers the handler of a kind. It panics on an empty kind, a nil
// handler or a second handler for the same kind, which are wiring mistakes.
func (w *Worker) Handle(kind string, h JobHandler) {
	if kind == "" || h == nil {
		panic("examgate: Worker.Handle needs a kind and a handler")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.handlers == nil {
		w.handlers = make(map[string]JobHandler)
	}
	if _, ok := w.handlers[kind]; ok {
		panic("examgate: second handler for job kind " + kind)
	}
	w.handlers[kind] = h
}

// Alive reports whether Run has turned recently enough: within two leases,
// the longest a job may legitimately hold it, plus its idle wait. A worker
// that never ran, or stopped, is not alive.
func (w *Worker) Alive(now time.Time) bool {
	last := w.lastLoop.Load()
	return last != 0 && now.Sub(time.Unix(0, last)) <= 2*w.lease()+w.idle()
}

// Wake makes a waiting Run look for jobs now. Call it after committing a
// transaction that enqueued jobs in this process; other processes still find
// them by polling.
func (w *Worker) Wake() {
	select {
	case w.wakeCh() <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (w *Worker) wakeCh() chan struct{} {
	w.wakeOnce.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Run works jobs until ctx is done, then returns nil. An attempt interrupted
// by the cancellation is put back to run again at once.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.check(); err != nil {
		return err
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		w.lastLoop.Store(time.Now().UnixNano())
		worked, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.logger().Error("job queue", "error", err)
		}
		if worked && err == nil {
			continue // more may be due
		}
		// Nothing due, or the store failed: do not spin.
		t := time.NewTimer(w.idle())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-w.wakeCh():
			t.Stop()
		case <-t.C:
		}
	}
}

// RunOnce claims one due job and works it. It reports whether a job was
// claimed; the error is about the store, not about the handler, whose
// failures are recorded on the job and logged.
func (w *Worker) RunOnce(ctx context.Context) (worked bool, err error) {
	if err := w.check(); err != nil {
		return false, err
	}
	now := w.now()
	job, err := w.Store.ClaimJob(ctx, w.kinds(), now, w.lease())
	if err != nil || job == nil {
		return false, err
	}
	// Results are written even if ctx was cancelled meanwhile, and the time
	// to write them starts when there is something to write: a handler
	// that took long must not leave no time to record that it did.
	var sctx context.Context
	var cancels []context.CancelFunc
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	storeCtx := func() {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), w.storeTimeout())
		cancels = append(cancels, cancel)
	}
	storeCtx()

	if job.LostLeases >= MaxLostLeases {
		// Its workers died (or hung) while running it, again and again:
		// most likely this job kills them. Workers share the process with
		// the web server, so retrying it for days would take the service
		// down every lease.
		msg := fmt.Sprintf("gave up: the worker running it stopped %d times without finishing (a crash or a hang); see the logs around those times", job.LostLeases)
		if job.LastError != "" {
			msg += "; last error: " + job.LastError
		}
		w.logger().Error("job gave up", w.attrs(job, errors.New(msg))...)
		return true, w.settle(w.Store.FailJob(sctx, job.ID, job.Lease, msg, now), job)
	}
	if job.Attempts > 1 && now.After(job.GiveUpAt) {
		// Claimed again after its deadline: usually its worker died during
		// the previous attempt, perhaps because of this very job, and running
		// it again could take down another worker, forever.
		msg := fmt.Sprintf("gave up after %s: deadline passed", attempts(job.Attempts-1))
		if job.LastError != "" {
			msg += "; last error: " + job.LastError
		}
		w.logger().Error("job gave up", w.attrs(job, errors.New(msg))...)
		return true, w.settle(w.Store.FailJob(sctx, job.ID, job.Lease, msg, now), job)
	}

	herr := w.call(ctx, job)
	now = w.now()
	storeCtx()

	if herr == nil {
		return true, w.settle(w.Store.FinishJob(sctx, job.ID, job.Lease, now), job)
	}

	var perm *PermanentError
	var later *RetryLater
	var next time.Time
	switch {
	case errors.As(herr, &perm):
		w.logger().Error("job failed permanently", w.attrs(job, herr)...)
		return true, w.settle(w.Store.FailJob(sctx, job.ID, job.Lease, herr.Error(), now), job)
	case errors.As(herr, &later) && later.After > 0:
		next = now.Add(later.After)
	case ctx.Err() != nil:
		next = now // interrupted by shutdown, not the job's fault
	default:
		// Also a hint of "now" (Retry-After: 0, or a date already past):
		// retrying at once would hammer the service, thousands a second.
		next = now.Add(w.backoff(job.Attempts))
	}
	if next.After(job.GiveUpAt) {
		msg := fmt.Sprintf("gave up after %s: %v", attempts(job.Attempts), herr)
		w.logger().Error("job gave up", w.attrs(job, herr)...)
		return true, w.settle(w.Store.FailJob(sctx, job.ID, job.Lease, msg, now), job)
	}
	w.logger().Warn("job failed, will retry", append(w.attrs(job, herr), "retry_at", next)...)
	return true, w.settle(w.Store.RetryJob(sctx, job.ID, job.Lease, next, herr.Error(), now), job)
}

// call runs the handler with a deadline inside the lease, so that the result
// is normally written before another worker may claim the job, and turns a
// panic into an error so that one bad job cannot stop the worker.
func (w *Worker) call(ctx context.Context, job *QueuedJob) (err error) {
	w.mu.RLock()
	h := w.handlers[job.Kind]
	w.mu.RUnlock()
	if h == nil { // claimed only for registered kinds; guards a racing Handle
		return fmt.Errorf("no handler for job kind %q", job.Kind)
	}
	hctx, cancel := context.WithTimeout(ctx, w.lease()*4/5)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
			w.logger().Error("job handler panicked", "job", job.ID, "kind", job.Kind,
				"attempt", job.Attempts, "error", err, "stack", string(debug.Stack()))
		}
	}()
	err = h(hctx, job)
	if err != nil && ctx.Err() == nil && errors.Is(hctx.Err(), context.DeadlineExceeded) {
		// The handler's own time ran out (a receiver that does not
		// answer): a retryable failure, with the receiver in err.
		err = fmt.Errorf("did not finish within %s, the time a job may take: %w", w.lease()*4/5, err)
	}
	return err
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// settle wraps a store error from recording a job's result.
func (w *Worker) settle(err error, job *QueuedJob) error {
	if err != nil {
		return fmt.Errorf("record result of job %d (%s): %w", job.ID, job.Kind, err)
	}
	return nil
}

// attrs are the log fields of a failure. Never the payload: it may hold
// personal data.
func (w *Worker) attrs(job *QueuedJob, err error) []any {
	return []any{"job", job.ID, "kind", job.Kind, "attempt", job.Attempts, "error", err}
}

func (w *Worker) check() error {
	if w.Store == nil {
		return errors.New("examgate: Worker has no Store")
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if len(w.handlers) == 0 {
		return errors.New("examgate: Worker has no handlers")
	}
	return nil
}

func (w *Worker) kinds() []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	kinds := make([]string, 0, len(w.handlers))
	for k := range w.handlers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

func (w *Worker) now() time.Time {
	if w.Clock == nil {
		return SystemClock{}.Now()
	}
	return w.Clock.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}

func (w *Worker) lease() time.Duration {
	if w.Lease <= 0 {
		return DefaultLease
	}
	return w.Lease
}

func (w *Worker) idle() time.Duration {
	if w.Idle <= 0 {
		return time.Second
	}
	return w.Idle
}

func (w *Worker) backoff(attempt int) time.Duration {
	if w.Backoff == nil {
		return DefaultBackoff(attempt)
	}
	return max(w.Backoff(attempt), 0)
}

// DefaultBackoff waits 10s after the first failed attempt and doubles each
// time up to 1h, then spreads the delay uniformly over ±50% so that jobs that
// failed together (a partner outage) do not all come back at the same moment.
func DefaultBackoff(attempt int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return d/2 + rand.N(d)
}
