package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

var _ examgate.AttemptStore = (*DB)(nil)

type attemptRow struct {
	bun.BaseModel `bun:"table:attempts"`

	ID          int64      `bun:"id,pk,autoincrement"`
	CandidateID int64      `bun:"candidate_id"`
	ExamCode    string     `bun:"exam_code"`
	BookingID   *int64     `bun:"booking_id"`
	Seed        int64      `bun:"seed"`
	StartedAt   time.Time  `bun:"started_at"`
	Deadline    time.Time  `bun:"deadline"`
	Status      string     `bun:"status"`
	EndedAt     *time.Time `bun:"ended_at"`
}

func (r *attemptRow) domain() *examgate.Attempt {
	a := &examgate.Attempt{
		ID: r.ID, CandidateID: r.CandidateID, ExamCode: r.ExamCode, Seed: r.Seed,
		StartedAt: r.StartedAt.UTC(), Deadline: r.Deadline.UTC(), Status: examgate.AttemptStatus(r.Status),
	}
	if r.BookingID != nil {
		a.BookingID = *r.BookingID
	}
	if r.EndedAt != nil {
		a.EndedAt = r.EndedAt.UTC()
	}
	return a
}

type answerRow struct {
	bun.BaseModel `bun:"table:answers"`

	AttemptID  int64     `bun:"attempt_id,pk"`
	ItemID     string    `bun:"item_id,pk"`
	Choices    string    `bun:"choices"`
	ChoicesSeq int64     `bun:"choices_seq"`
	Flagged    bool      `bun:"flagged"`
	FlagSeq    int64     `bun:"flag_seq"`
	SavedAt    time.Time `bun:"saved_at"`
}

func (r *answerRow) domain(seq int64) examgate.Answer {
	a := examgate.Answer{ItemID: r.ItemID, Flagged: r.Flagged, ClientSeq: seq, SavedAt: r.SavedAt.UTC()}
	_ = json.Unmarshal([]byte(r.Choices), &a.Choices)
	if a.Choices == nil {
		a.Choices = []string{}
	}
	return a
}

type resultRow struct {
	bun.BaseModel `bun:"table:results"`

	ID          int64     `bun:"id,pk,autoincrement"`
	AttemptID   int64     `bun:"attempt_id"`
	CandidateID int64     `bun:"candidate_id"`
	ExamCode    string    `bun:"exam_code"`
	Points      float64   `bun:"points"`
	MaxPoints   float64   `bun:"max_points"`
	Percent     float64   `bun:"percent"`
	PassMark    float64   `bun:"pass_mark"`
	Passed      bool      `bun:"passed"`
	Items       string    `bun:"items"`
	CreatedAt   time.Time `bun:"created_at"`
}

func (r *resultRow) domain() *examgate.Result {
	res := &examgate.Result{
		ID: r.ID, AttemptID: r.AttemptID, CandidateID: r.CandidateID, ExamCode: r.ExamCode, CreatedAt: r.CreatedAt.UTC(),
		Score: examgate.Score{Points: r.Points, MaxPoints: r.MaxPoints, Percent: r.Percent, PassMark: r.PassMark, Passed: r.Passed},
	}
	_ = json.Unmarshal([]byte(r.Items), &res.Items)
	return res
}

// StartAttempt inserts an attempt; with a booking, it moves the booking from
// pending to started in the same transaction, under the request's key.
func (db *DB) StartAttempt(ctx context.Context, a *examgate.Attempt, b *examgate.Booking, req examgate.Request, jobs examgate.JobsFunc) (*examgate.Attempt, error) {
	row := attemptRow{
		CandidateID: a.CandidateID, ExamCode: a.ExamCode, Seed: a.Seed,
		StartedAt: a.StartedAt, Deadline: a.Deadline, Status: string(examgate.AttemptOpen),
	}
	insert := func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return fixLTIAttempt(ctx, tx, a, row.ID)
	}
	if b == nil {
		err := db.bun.RunInTx(ctx, nil, insert)
		if isUniqueViolation(err) {
			return db.OpenAttempt(ctx, a.CandidateID, a.ExamCode) // started by a concurrent request
		}
		if err != nil {
			return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not start the attempt")
		}
		return row.domain(), nil
	}
	row.BookingID = &b.ID
	_, err := db.change(ctx, req, jobs, func(tx bun.Tx) (*examgate.Booking, error) {
		res, err := tx.NewUpdate().Model((*bookingRow)(nil)).
			Set("status = ?", examgate.BookingStarted).Set("updated_at = ?", req.At).
			Where("id = ? AND status = ? AND starts_at = ?", b.ID, examgate.BookingPending, b.StartsAt.UTC()).Exec(ctx)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, errChanged
		}
		if err := insert(ctx, tx); err != nil {
			return nil, err
		}
		started := *b
		started.Status = examgate.BookingStarted
		return &started, nil
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

func (db *DB) attemptWhere(ctx context.Context, q bun.IDB, where string, args ...any) (*examgate.Attempt, error) {
	var row attemptRow
	if err := q.NewSelect().Model(&row).Where(where, args...).Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "attempt")
	}
	return row.domain(), nil
}

// AttemptByID returns an attempt or NotFound.
func (db *DB) AttemptByID(ctx context.Context, id int64) (*examgate.Attempt, error) {
	return db.attemptWhere(ctx, db.bun, "id = ?", id)
}

// OpenAttempt returns the candidate's open attempt of an exam, or NotFound.
func (db *DB) OpenAttempt(ctx context.Context, candidateID int64, examCode string) (*examgate.Attempt, error) {
	return db.attemptWhere(ctx, db.bun, "candidate_id = ? AND exam_code = ? AND status = ?", candidateID, examCode, examgate.AttemptOpen)
}

// AttemptStanding counts a candidate's attempts of an exam and says whether
// one passed (a pass ends the attempts, so it is also the latest result).
func (db *DB) AttemptStanding(ctx context.Context, candidateID int64, examCode string) (int, bool, error) {
	var used int
	var passed bool
	// Prepared once (db/reads.go): the dashboard reads it on every load.
	err := db.readRow(ctx, nil, "attempt standing", `SELECT
		(SELECT count(*) FROM attempts WHERE candidate_id = ?bigint AND exam_code = ?text),
		EXISTS (SELECT 1 FROM results WHERE candidate_id = ?bigint AND exam_code = ?text AND passed)`,
		[]any{candidateID, examCode, candidateID, examCode}, &used, &passed)
	if err != nil {
		return 0, false, examgate.Wrap(examgate.EINTERNAL, err, "could not read the candidate's attempts")
	}
	return used, passed, nil
}

// Answers returns the saved answers of an attempt.
func (db *DB) Answers(ctx context.Context, attemptID int64) ([]examgate.Answer, error) {
	return answersOf(ctx, db.bun, attemptID)
}

func answersOf(ctx context.Context, q bun.IDB, attemptID int64) ([]examgate.Answer, error) {
	var rows []answerRow
	if err := q.NewSelect().Model(&rows).Where("attempt_id = ?", attemptID).Order("item_id").Scan(ctx); err != nil {
		return nil, notFound(err, "answers")
	}
	out := make([]examgate.Answer, len(rows))
	for i := range rows {
		out[i] = rows[i].domain(max(rows[i].ChoicesSeq, rows[i].FlagSeq))
	}
	return out, nil
}

// SaveChoices upserts an answer in one statement that only overwrites an
// older save, so saves arriving out of order or twice end in the newest.
func (db *DB) SaveChoices(ctx context.Context, attemptID int64, a examgate.Answer) (examgate.Answer, error) {
	choices, _ := json.Marshal(a.Choices)
	return db.saveAnswer(ctx, attemptID, a.ItemID, `INSERT INTO answers (attempt_id, item_id, choices, choices_seq, saved_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (attempt_id, item_id) DO UPDATE SET choices = excluded.choices, choices_seq = excluded.choices_seq, saved_at = excluded.saved_at
		WHERE answers.choices_seq < excluded.choices_seq`,
		true, attemptID, a.ItemID, string(choices), a.ClientSeq, a.SavedAt)
}

// SaveFlag is SaveChoices for the flag, with its own sequence number.
func (db *DB) SaveFlag(ctx context.Context, attemptID int64, a examgate.Answer) (examgate.Answer, error) {
	return db.saveAnswer(ctx, attemptID, a.ItemID, `INSERT INTO answers (attempt_id, item_id, flagged, flag_seq, saved_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (attempt_id, item_id) DO UPDATE SET flagged = excluded.flagged, flag_seq = excluded.flag_seq, saved_at = excluded.saved_at
		WHERE answers.flag_seq < excluded.flag_seq`,
		false, attemptID, a.ItemID, a.Flagged, a.ClientSeq, a.SavedAt)
}

func (db *DB) saveAnswer(ctx context.Context, attemptID int64, itemID, query string, choices bool, args ...any) (examgate.Answer, error) {
	var row answerRow
	err := db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The answer is written only while the attempt is open, under a
		// share lock on PostgreSQL that CompleteAttempt's update waits for:
		// a save either lands before the attempt is scored, or is refused.
		lock := ""
		if db.postgres {
			lock = " FOR SHARE"
		}
		var open int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT id FROM attempts WHERE id = ? AND status = ?"+lock+") AS a",
			attemptID, examgate.AttemptOpen).Scan(&open); err != nil {
			return err
		}
		if open == 0 {
			return errAttemptEnded
		}
		if _, err := tx.NewRaw(query, args...).Exec(ctx); err != nil {
			return err
		}
		return tx.NewSelect().Model(&row).Where("attempt_id = ? AND item_id = ?", attemptID, itemID).Scan(ctx)
	})
	if errors.Is(err, errAttemptEnded) {
		return examgate.Answer{}, errAttemptEnded
	}
	if err != nil {
		return examgate.Answer{}, examgate.Wrap(examgate.EINTERNAL, err, "could not save the answer")
	}
	if choices {
		return row.domain(row.ChoicesSeq), nil
	}
	return row.domain(row.FlagSeq), nil
}

// SaveIfOpen writes a save in one statement whose guard is the attempt
// row: open, the candidate's, of the exam, and not past its deadline and
// grace. On PostgreSQL the guard row is share-locked, so a save racing
// CompleteAttempt's update either commits first and is scored, or waits and
// then finds the attempt closed. On SQLite concurrent saves share one
// transaction (saveGroup): one commit, and one fsync, for all of them.
// Both run the statement prepared once: parsing and planning this upsert
// costs more than running it.
func (db *DB) SaveIfOpen(ctx context.Context, g examgate.SaveGuard, a examgate.Answer, flag bool) (examgate.Answer, bool, error) {
	s := db.guardedSave(g, a, flag)
	if db.postgres {
		var st *sql.Stmt
		if st, s.err = db.prepared.get(ctx, db.hotPool(), s.query); s.err == nil {
			s.row, s.wrote, s.err = s.run(ctx, st)
			db.saves.statements.Add(1)
			db.saves.commits.Add(1)
			if s.seenDue(db) {
				db.touch(ctx, s.session, s.now)
			}
		}
	} else {
		db.saves.do(ctx, db, s)
	}
	if s.err != nil {
		return examgate.Answer{}, false, examgate.Wrap(examgate.EINTERNAL, s.err, "could not save the answer")
	}
	if !s.wrote {
		return examgate.Answer{}, false, nil
	}
	// Written: the row holds this save, and the other field as it was.
	s.row.ItemID, s.row.SavedAt = a.ItemID, a.SavedAt
	return s.row.domain(a.ClientSeq), true, nil
}

// guardedSaves are the statements of SaveIfOpen, written out once for
// every dialect, kind of save and session check, [postgres][flag][session]:
// building them per save cost string work on every autosave.
var guardedSaves = func() (q [2][2][2]string) {
	for pg, lock := range []string{"", " FOR SHARE"} {
		for flag, base := range []string{saveChoicesIfOpen, saveFlagIfOpen} {
			for sess, session := range []string{"", saveSessionLive} {
				text := strings.Replace(strings.Replace(base, "/*session*/", session, 1), "/*lock*/", lock, 1)
				if pg == 1 {
					q[pg][flag][sess] = postgresParams(text)
				} else {
					q[pg][flag][sess] = sqliteParams(text)
				}
			}
		}
	}
	return q
}()

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// guardedSave builds the statement of a SaveIfOpen and its arguments.
func (db *DB) guardedSave(g examgate.SaveGuard, a examgate.Answer, flag bool) *pendingSave {
	var args []any
	if flag {
		args = []any{a.ItemID, a.Flagged, a.ClientSeq}
	} else {
		choices, _ := json.Marshal(a.Choices)
		args = []any{a.ItemID, string(choices), a.ClientSeq}
	}
	args = append(args, a.SavedAt.UTC(), g.AttemptID, g.CandidateID, g.ExamCode, g.NotBefore.UTC())
	if g.TokenHash != "" {
		args = append(args, g.TokenHash, g.Now.UTC(), db.seenSince(g.Now).UTC())
	}
	if !db.postgres {
		// Times in the text form bun writes everywhere else, so that they compare.
		args[3], args[7] = sqliteTime(a.SavedAt), sqliteTime(g.NotBefore)
		if g.TokenHash != "" {
			args[9], args[10] = sqliteTime(g.Now), sqliteTime(db.seenSince(g.Now))
		}
	}
	query := guardedSaves[boolIndex(db.postgres)][boolIndex(flag)][boolIndex(g.TokenHash != "")]
	return &pendingSave{query: query, args: args, session: g.TokenHash, now: g.Now}
}

// sqliteTime is a time as bun's SQLite dialect writes it.
func sqliteTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999-07:00")
}

// postgresParams numbers the parameters ?type of a query ($1::type, …):
// PostgreSQL cannot infer the type of a parameter in a SELECT list.
func postgresParams(q string) string {
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(q, '?')
		if i < 0 {
			b.WriteString(q)
			return b.String()
		}
		n++
		b.WriteString(q[:i])
		b.WriteString("$" + strconv.Itoa(n))
		q = q[i+1:]
		t := strings.IndexFunc(q, func(r rune) bool { return !unicode.IsLetter(r) })
		if t < 0 {
			t = len(q)
		}
		if t > 0 {
			b.WriteString("::" + q[:t])
			q = q[t:]
		}
	}
}

// sqliteParams drops the types of the parameters ?type of a query.
func sqliteParams(q string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(q, '?')
		if i < 0 {
			b.WriteString(q)
			return b.String()
		}
		b.WriteString(q[:i+1])
		q = q[i+1:]
		t := strings.IndexFunc(q, func(r rune) bool { return !unicode.IsLetter(r) })
		if t < 0 {
			t = len(q)
		}
		q = q[t:]
	}
}

// The guarded upserts of SaveIfOpen: the SELECT yields the row to insert
// only when the attempt passes the guard, and the conflict update only
// overwrites an older save, so RETURNING yields a row exactly when the save
// landed. (SQLite needs the WHERE to read ON CONFLICT as the upsert's.)
// ?type is a parameter of that type. The status is written out, not bound:
// SQLite decides whether the partial index attempts_one_open (status =
// 'open') applies from a bound value, and then parses and plans the
// statement again whenever that parameter is bound anew, on every save (a
// fifth of a save's CPU).
const (
	saveChoicesIfOpen = `INSERT INTO answers (attempt_id, item_id, choices, choices_seq, saved_at)
		SELECT id, ?text, ?text, ?bigint, ?timestamptz FROM attempts
		WHERE id = ?bigint AND candidate_id = ?bigint AND exam_code = ?text AND status = 'open' AND deadline >= ?timestamptz/*session*//*lock*/
		ON CONFLICT (attempt_id, item_id) DO UPDATE SET choices = excluded.choices, choices_seq = excluded.choices_seq, saved_at = excluded.saved_at
		WHERE answers.choices_seq < excluded.choices_seq
		RETURNING choices, flagged`
	// saveSessionLive is the guard's part for a session not read yet: its
	// token is live (not expired, not idle) and the attempt's candidate's
	// (what SessionByTokenHash and Own would have checked).
	saveSessionLive = `
		AND EXISTS (SELECT 1 FROM sessions WHERE token_hash = ?text AND candidate_id = attempts.candidate_id AND expires_at > ?timestamptz AND last_seen_at > ?timestamptz)`
	saveFlagIfOpen = `INSERT INTO answers (attempt_id, item_id, flagged, flag_seq, saved_at)
		SELECT id, ?text, ?boolean, ?bigint, ?timestamptz FROM attempts
		WHERE id = ?bigint AND candidate_id = ?bigint AND exam_code = ?text AND status = 'open' AND deadline >= ?timestamptz/*session*//*lock*/
		ON CONFLICT (attempt_id, item_id) DO UPDATE SET flagged = excluded.flagged, flag_seq = excluded.flag_seq, saved_at = excluded.saved_at
		WHERE answers.flag_seq < excluded.flag_seq
		RETURNING choices, flagged`
)

// pendingSave is one SaveIfOpen, with its outcome.
type pendingSave struct {
	query string
	args  []any
	row   answerRow
	wrote bool
	err   error
	wake  chan bool // saveGroup: true to lead the next batch, false when done
	// deadline is the caller's, zero for none.
	deadline time.Time
	// session is the token hash the statement checked, if any, and now
	// the time it was checked at: a save that lands records it as seen.
	session string
	now     time.Time
}

// seenDue reports whether a save that landed should record its session as
// seen: it checked the session in its statement, and this process has not
// recorded that session in the last minute. The other saves read their
// session, which records it (SessionByTokenHash).
func (s *pendingSave) seenDue(db *DB) bool {
	return s.err == nil && s.wrote && s.session != "" && db.seen.due(s.session, s.now)
}

// run runs the save's prepared statement; RETURNING yields no row when
// the save was not written.
func (s *pendingSave) run(ctx context.Context, stmt *sql.Stmt) (answerRow, bool, error) {
	var row answerRow
	err := stmt.QueryRowContext(ctx, s.args...).Scan(&row.Choices, &row.Flagged)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	return row, err == nil, err
}

// saveGroup is a group commit: SQLite makes one write transaction at a time
// durable, each with an fsync (synchronous=FULL), so saves arriving while
// one commits queue up and the next commit takes them all. Nobody waits for
// a timer: the first save finding no batch running leads one at once; the
// leader hands the lead to the first queued save when its batch is done.
// Every caller returns only after the transaction holding its save has
// committed, so "Saved" in the browser still means on disk.
type saveGroup struct {
	mu      sync.Mutex
	queue   []*pendingSave
	leading bool

	commits, statements atomic.Int64
}

// SaveStats reports the commits and the statements the guarded saves of
// SaveIfOpen have made (BEGIN and COMMIT not counted as statements): on
// SQLite statements/commits is the mean group-commit batch; on PostgreSQL
// each save commits on its own.
func (db *DB) SaveStats() (commits, statements int64) {
	return db.saves.commits.Load(), db.saves.statements.Load()
}

// maxSaveBatch bounds one transaction, so that one commit does not make a
// reader wait for thousands of statements.
const maxSaveBatch = 256

func (g *saveGroup) do(ctx context.Context, db *DB, s *pendingSave) {
	s.wake = make(chan bool, 1)
	s.deadline, _ = ctx.Deadline()
	g.mu.Lock()
	g.queue = append(g.queue, s)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if !lead && !<-s.wake {
		return
	}
	// s is first in the queue: it started it, or was handed the lead.
	g.mu.Lock()
	n := min(len(g.queue), maxSaveBatch)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	// Whatever happens to the batch, the lead passes on and every save of
	// it is answered: a save left waiting would hang its request, and a
	// lead never passed on, every later save.
	defer func() {
		if p := recover(); p != nil {
			for _, s := range batch {
				s.wrote, s.err = false, fmt.Errorf("save batch: %v", p)
			}
			g.finish(batch)
			panic(p)
		}
		g.finish(batch)
	}()
	// The batch is everyone's: the leader's caller going away must not
	// cancel the others' saves; but it ends with the last of their
	// deadlines, so that a stalled database (another writer holding the
	// lock) does not hold it, and every save queued behind it, past the
	// time anyone waits for an answer.
	bctx, cancel := batchContext(ctx, batch)
	defer cancel()
	db.runSaveBatch(bctx, batch)
}

// batchContext is the context of a batch: not cancelled with any caller's,
// and ending at the last deadline of its saves (none if one has none).
func batchContext(ctx context.Context, batch []*pendingSave) (context.Context, context.CancelFunc) {
	ctx = context.WithoutCancel(ctx)
	var last time.Time
	for _, s := range batch {
		if s.deadline.IsZero() {
			return ctx, func() {}
		}
		if s.deadline.After(last) {
			last = s.deadline
		}
	}
	return context.WithDeadline(ctx, last)
}

// finish hands the lead to the first queued save, if any, and answers the
// saves of the batch (the first is the leader's own).
func (g *saveGroup) finish(batch []*pendingSave) {
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].wake <- true
	} else {
		g.leading = false
		g.queue = nil
	}
	g.mu.Unlock()
	for _, p := range batch[1:] {
		p.wake <- false
	}
}

// runSaveBatch runs the saves in one transaction; if it fails, each save
// runs in its own, so that one bad save fails alone.
func (db *DB) runSaveBatch(ctx context.Context, batch []*pendingSave) {
	g := &db.saves
	// Prepared before BEGIN: the transaction holds SQLite's one connection.
	stmts := make([]*sql.Stmt, 0, len(batch))
	ready := batch[:0:0]
	for _, s := range batch {
		st, err := db.prepared.get(ctx, db.hotPool(), s.query)
		if err != nil {
			s.wrote, s.err = false, err
			continue
		}
		stmts = append(stmts, st)
		ready = append(ready, s)
	}
	batch = ready
	var touch *sql.Stmt // prepared before BEGIN too, if a save may need it
	for _, s := range batch {
		if s.session != "" {
			touch, _ = db.prepared.stmt(ctx, db.hotPool(), db.dialectParams(touchSession))
			break
		}
	}
	exec := func(ctx context.Context, tx bun.Tx, i int) error {
		s := batch[i]
		s.row, s.wrote, s.err = s.run(ctx, tx.StmtContext(ctx, stmts[i]))
		if touch != nil && s.seenDue(db) {
			// In the save's transaction: no commit of its own. Its
			// failure is not the save's (see touch).
			db.prepared.runs.Add(1)
			_, _ = tx.StmtContext(ctx, touch).ExecContext(ctx, db.touchArgs(s.session, s.now)...)
		}
		return s.err
	}
	err := db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i := range batch {
			if err := exec(ctx, tx, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		g.commits.Add(1)
		g.statements.Add(int64(len(batch)))
		return
	}
	if examgate.Unreachable(err) {
		// Not a bad save but a database that did not answer (another
		// writer held the lock past the busy timeout): each save alone
		// would wait as long again, one after the other.
		for _, s := range batch {
			s.wrote, s.err = false, err
		}
		return
	}
	for i, s := range batch {
		if len(batch) == 1 {
			s.err = err
		} else {
			s.err = db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return exec(ctx, tx, i) })
		}
		if s.err != nil {
			s.wrote = false
		} else {
			g.commits.Add(1)
			g.statements.Add(1)
		}
	}
}

// CompleteAttempt ends an open attempt with its result, completes its
// booking and enqueues the result's jobs, all in one transaction.
func (db *DB) CompleteAttempt(ctx context.Context, a *examgate.Attempt, status examgate.AttemptStatus, endedAt time.Time, score func([]examgate.Answer) examgate.Score, jobs func(*examgate.Result) ([]examgate.Job, error)) (*examgate.Result, error) {
	if a.BookingID != 0 { // it completes the booking: a booking statement
		leave, err := db.bookings.enter(ctx)
		if err != nil {
			return nil, err
		}
		defer leave()
	}
	var row resultRow
	err := db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var completed int64 // bookings completed: 1 or 0
		res, err := tx.NewUpdate().Model((*attemptRow)(nil)).Set("status = ?", status).Set("ended_at = ?", endedAt).
			Where("id = ? AND status = ?", a.ID, examgate.AttemptOpen).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errAttemptEnded
		}
		// Scored after the attempt is closed, in the same transaction, so
		// that every save accepted before is counted and none comes after.
		answers, err := answersOf(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		s := score(answers)
		items, err := json.Marshal(s.Items)
		if err != nil {
			return err
		}
		row = resultRow{
			AttemptID: a.ID, CandidateID: a.CandidateID, ExamCode: a.ExamCode, Points: s.Points, MaxPoints: s.MaxPoints,
			Percent: s.Percent, PassMark: s.PassMark, Passed: s.Passed, Items: string(items), CreatedAt: endedAt,
		}
		if a.BookingID != 0 {
			res, err := tx.NewUpdate().Model((*bookingRow)(nil)).Set("status = ?", examgate.BookingCompleted).
				Set("updated_at = ?", endedAt).Where("id = ? AND status = ?", a.BookingID, examgate.BookingStarted).Exec(ctx)
			if err != nil {
				return err
			}
			completed, _ = res.RowsAffected()
		}
		if _, err := tx.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
			return err
		}
		if jobs != nil {
			js, err := jobs(row.domain())
			if err != nil {
				return err
			}
			if err := EnqueueTx(ctx, tx, endedAt, js...); err != nil {
				return err
			}
		}
		if completed == 1 {
			_, err := stampChange(ctx, tx, a.BookingID, endedAt)
			return err
		}
		return nil
	})
	if errors.Is(err, errAttemptEnded) {
		return nil, errAttemptEnded
	}
	if err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not record the result")
	}
	return row.domain(), nil
}

var errAttemptEnded = examgate.Errorf(examgate.ECONFLICT, "This attempt has already ended.")

// OverdueAttempts lists open attempts whose deadline is before the given
// time, in (deadline, id) order, after the cursor attempt when there is one.
func (db *DB) OverdueAttempts(ctx context.Context, before time.Time, after *examgate.Attempt, limit int) ([]*examgate.Attempt, error) {
	var rows []attemptRow
	q := db.bun.NewSelect().Model(&rows).Where("status = ? AND deadline < ?", examgate.AttemptOpen, before.UTC())
	if after != nil {
		d := after.Deadline.UTC()
		q = q.Where("(deadline > ? OR (deadline = ? AND id > ?))", d, d, after.ID)
	}
	err := q.Order("deadline", "id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "attempts")
	}
	out := make([]*examgate.Attempt, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// ResultByAttempt returns the result of an attempt, or NotFound.
func (db *DB) ResultByAttempt(ctx context.Context, attemptID int64) (*examgate.Result, error) {
	var row resultRow
	if err := db.bun.NewSelect().Model(&row).Where("attempt_id = ?", attemptID).Scan(ctx); err != nil {
		return nil, notFound(err, "result")
	}
	return row.domain(), nil
}

// Accommodation returns a candidate's time multiplier for an exam (1 if none).
func (db *DB) Accommodation(ctx context.Context, candidateID int64, examCode string) (float64, error) {
	var m float64
	err := db.bun.NewSelect().Table("accommodations").Column("multiplier").
		Where("candidate_id = ? AND exam_code = ?", candidateID, examCode).Scan(ctx, &m)
	if errors.Is(err, sql.ErrNoRows) {
		return 1, nil
	}
	if err != nil {
		return 0, examgate.Wrap(examgate.EINTERNAL, err, "database error")
	}
	return m, nil
}

// SetAccommodation grants a candidate extra time for an exam; 1 removes it.
func (db *DB) SetAccommodation(ctx context.Context, candidateID int64, examCode string, multiplier float64, now time.Time) error {
	if multiplier == 1 {
		_, err := db.bun.NewDelete().Table("accommodations").Where("candidate_id = ? AND exam_code = ?", candidateID, examCode).Exec(ctx)
		return err
	}
	_, err := db.bun.NewRaw(`INSERT INTO accommodations (candidate_id, exam_code, multiplier, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (candidate_id, exam_code) DO UPDATE SET multiplier = excluded.multiplier, updated_at = excluded.updated_at`,
		candidateID, examCode, multiplier, now).Exec(ctx)
	return err
}

// AccommodationEntry is one granted accommodation, for operators.
type AccommodationEntry struct {
	Email      string  `bun:"email"`
	ExamCode   string  `bun:"exam_code"`
	Multiplier float64 `bun:"multiplier"`
}

// Accommodations lists accommodations, of one exam when examCode is set.
func (db *DB) Accommodations(ctx context.Context, examCode string) ([]AccommodationEntry, error) {
	var out []AccommodationEntry
	q := db.bun.NewSelect().TableExpr("accommodations AS a").Join("JOIN candidates AS c ON c.id = a.candidate_id").
		ColumnExpr("c.email, a.exam_code, a.multiplier").Order("c.email", "a.exam_code")
	if examCode != "" {
		q = q.Where("a.exam_code = ?", examCode)
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ResultByID returns a result or NotFound.
func (db *DB) ResultByID(ctx context.Context, id int64) (*examgate.Result, error) {
	var row resultRow
	if err := db.bun.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "result")
	}
	return row.domain(), nil
}
