package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

var _ examgate.JobStore = (*DB)(nil)

type jobRow struct {
	bun.BaseModel `bun:"table:jobs"`

	ID          int64  `bun:"id,pk,autoincrement"`
	Kind        string `bun:"kind"`
	Payload     string `bun:"payload"`
	OrderingKey string `bun:"ordering_key"`
	State       string `bun:"state"`
	Attempts    int    `bun:"attempts"`
	LostLeases  int    `bun:"lost_leases"`
	MaxAgeMS    int64  `bun:"max_age_ms"`
	GiveUpAt    time.Time
	RunAt       time.Time
	LockedUntil *time.Time `bun:"locked_until"`
	Lease       string     `bun:"lease"`
	LastError   string     `bun:"last_error"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DoneAt      *time.Time `bun:"done_at"`
}

func (r *jobRow) domain() examgate.QueuedJob {
	return examgate.QueuedJob{
		ID: r.ID, Kind: r.Kind, Key: r.OrderingKey, State: r.State, LastError: r.LastError,
		Lease: r.Lease, Payload: json.RawMessage(r.Payload), Attempts: r.Attempts, LostLeases: r.LostLeases,
		RunAt: r.RunAt.UTC(), GiveUpAt: r.GiveUpAt.UTC(), CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(), LockedUntil: utcPtr(r.LockedUntil), DoneAt: utcPtr(r.DoneAt),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// maxErrorLen bounds last_error: a handler may return a whole response body.
const maxErrorLen = 2000

func truncateError(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	s = s[:maxErrorLen]
	for !utf8.ValidString(s) { // do not split a character
		s = s[:len(s)-1]
	}
	return s + "…"
}

// EnqueueTx writes jobs with tx, which should be the transaction of the state
// change that causes them: they exist if and only if it commits.
func EnqueueTx(ctx context.Context, tx bun.IDB, now time.Time, jobs ...examgate.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	rows := make([]jobRow, len(jobs))
	for i, j := range jobs {
		if j.Kind == "" {
			return examgate.Errorf(examgate.EINVALID, "job %d has no kind", i)
		}
		payload := string(j.Payload)
		if payload == "" {
			payload = "null"
		}
		if !json.Valid([]byte(payload)) {
			return examgate.Errorf(examgate.EINVALID, "job %d (%s): payload is not JSON", i, j.Kind)
		}
		runAt := j.RunAt
		if runAt.IsZero() {
			runAt = now
		}
		maxAge := j.MaxAge
		if maxAge <= 0 {
			maxAge = examgate.DefaultJobMaxAge
		}
		// The deadline counts from run_at, not from now, so that a job
		// scheduled far ahead (a reminder) still gets its retries.
		rows[i] = jobRow{
			Kind: j.Kind, Payload: payload, OrderingKey: j.Key, State: examgate.JobQueued,
			MaxAgeMS: maxAge.Milliseconds(), GiveUpAt: runAt.Add(maxAge), RunAt: runAt,
			CreatedAt: now, UpdatedAt: now,
		}
	}
	if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not enqueue jobs")
	}
	return nil
}

// Enqueue writes jobs in a transaction of their own, for work that follows
// no state change of ours.
func (db *DB) Enqueue(ctx context.Context, now time.Time, jobs ...examgate.Job) error {
	return db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return EnqueueTx(ctx, tx, now, jobs...)
	})
}

// claimSQL picks the next due job and marks it running in one statement,
// counting a claim of a job still marked running (its lease ran out) in
// lost_leases; SET reads the row as it was before the update. A
// job with a key waits while an earlier job with that key is unfinished, or
// while any other job with that key holds a live lease (after a staff
// requeue of an older job). The %s is PostgreSQL's row lock: SKIP LOCKED lets
// concurrent claimers pass over the row another one is taking instead of
// queueing behind it. SQLite needs none: it has one writer at a time.
// "p.ordering_key <> ”" repeats the partial index's condition so that the
// planners use it; without it a claim scans the queue once per candidate row.
const claimSQL = `UPDATE jobs
SET state = 'running', attempts = attempts + 1, locked_until = ?, lease = ?, updated_at = ?,
	lost_leases = lost_leases + CASE WHEN state = 'running' THEN 1 ELSE 0 END
WHERE id = (
	SELECT j.id FROM jobs AS j
	WHERE j.kind IN (?)
	AND (j.state = 'queued' AND j.run_at <= ? OR j.state = 'running' AND j.locked_until < ?)
	AND (j.ordering_key = '' OR NOT EXISTS (
		SELECT 1 FROM jobs AS p
		WHERE p.ordering_key <> '' AND p.ordering_key = j.ordering_key AND p.id <> j.id
		AND (p.id < j.id AND p.state IN ('queued', 'running')
			OR p.state = 'running' AND p.locked_until >= ?)))
	ORDER BY j.run_at, j.id
	LIMIT 1
	%s)
RETURNING *`

var (
	claimSQLite   = fmt.Sprintf(claimSQL, "")
	claimPostgres = fmt.Sprintf(claimSQL, "FOR UPDATE SKIP LOCKED")
)

// ClaimJob implements examgate.JobStore. An empty kinds claims nothing: a
// worker must not take jobs it has no handler for.
func (db *DB) ClaimJob(ctx context.Context, kinds []string, now time.Time, lease time.Duration) (*examgate.QueuedJob, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	q := claimSQLite
	if db.postgres {
		q = claimPostgres
	}
	var row jobRow
	err := db.bun.NewRaw(q, now.Add(lease), newLease(), now,
		bun.In(kinds), now, now, now).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if examgate.Unreachable(err) {
		// One code per cause: the worker logs an outage as such.
		return nil, examgate.Wrap(examgate.EUNAVAILABLE, err, "could not claim a job: the database is unreachable")
	} else if err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not claim a job")
	}
	j := row.domain()
	return &j, nil
}

// newLease returns the token that identifies one claim of a job.
func newLease() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FinishJob implements examgate.JobStore.
func (db *DB) FinishJob(ctx context.Context, id int64, lease string, now time.Time) error {
	return db.settle(ctx, id, lease, db.bun.NewUpdate().Table("jobs").
		Set("state = ?", examgate.JobDone).
		Set("locked_until = NULL").
		Set("done_at = ?", now).
		Set("updated_at = ?", now))
}

// RetryJob implements examgate.JobStore.
func (db *DB) RetryJob(ctx context.Context, id int64, lease string, runAt time.Time, errMsg string, now time.Time) error {
	return db.settle(ctx, id, lease, db.bun.NewUpdate().Table("jobs").
		Set("state = ?", examgate.JobQueued).
		Set("run_at = ?", runAt).
		Set("locked_until = NULL").
		Set("last_error = ?", truncateError(errMsg)).
		Set("updated_at = ?", now))
}

// FailJob implements examgate.JobStore.
func (db *DB) FailJob(ctx context.Context, id int64, lease string, errMsg string, now time.Time) error {
	return db.settle(ctx, id, lease, db.bun.NewUpdate().Table("jobs").
		Set("state = ?", examgate.JobFailed).
		Set("locked_until = NULL").
		Set("last_error = ?", truncateError(errMsg)).
		Set("done_at = ?", now).
		Set("updated_at = ?", now))
}

// settle applies a worker's result only while the worker still holds the
// job: the lease token changes when an expired job is claimed again, so a
// late worker cannot overwrite the result of the one that took over.
func (db *DB) settle(ctx context.Context, id int64, lease string, q *bun.UpdateQuery) error {
	res, err := q.Where("id = ? AND state = ? AND lease = ?", id, examgate.JobRunning, lease).Exec(ctx)
	if err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not record the job's result")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return examgate.Errorf(examgate.ECONFLICT, "job %d is no longer held by this worker: its lease expired and it was claimed again", id)
	}
	return nil
}

// RequeueJob puts a failed job back in the queue to run now, with attempts
// counted afresh and a new deadline of its max age from now: a staff retry
// after the cause was fixed.
func (db *DB) RequeueJob(ctx context.Context, id int64, now time.Time) error {
	job, err := db.jobRow(ctx, id)
	if err != nil {
		return err
	}
	if job.State != examgate.JobFailed {
		return examgate.Errorf(examgate.ECONFLICT, "job %d is %s; only failed jobs can be retried", id, job.State)
	}
	res, err := db.bun.NewUpdate().Table("jobs").
		Set("state = ?", examgate.JobQueued).
		Set("attempts = 0").
		Set("lost_leases = 0").
		Set("run_at = ?", now).
		Set("give_up_at = ?", now.Add(time.Duration(job.MaxAgeMS)*time.Millisecond)).
		Set("locked_until = NULL").
		Set("done_at = NULL").
		Set("updated_at = ?", now).
		Where("id = ? AND state = ?", id, examgate.JobFailed).Exec(ctx)
	if err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not requeue the job")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return examgate.Errorf(examgate.ECONFLICT, "job %d was requeued by someone else", id)
	}
	return nil
}

// JobByID returns a job or a NotFound error.
func (db *DB) JobByID(ctx context.Context, id int64) (*examgate.QueuedJob, error) {
	row, err := db.jobRow(ctx, id)
	if err != nil {
		return nil, err
	}
	j := row.domain()
	return &j, nil
}

func (db *DB) jobRow(ctx context.Context, id int64) (*jobRow, error) {
	var row jobRow
	if err := db.bun.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "job")
	}
	return &row, nil
}

// Jobs lists jobs newest first for staff.
func (db *DB) Jobs(ctx context.Context, f examgate.JobFilter) ([]examgate.QueuedJob, error) {
	limit := int64(f.Limit)
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 500)
	var rows []jobRow
	q := db.bun.NewSelect().Model(&rows).OrderExpr("id DESC").Limit(limit)
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.Key != "" {
		q = q.Where("ordering_key = ?", f.Key)
	}
	if len(f.Kinds) > 0 {
		q = q.Where("kind IN (?)", bun.In(f.Kinds))
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not list jobs")
	}
	out := make([]examgate.QueuedJob, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}
