package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

// The reads of every learner request (the dashboard's candidate,
// eligibility, bookings, their attempts and the latest result; a launch's
// candidate lookups and token check) run as statements prepared once with
// bound arguments. bun writes the values into the SQL text, so each request
// made SQLite parse and plan every statement again (sqlite3_prepare_v2 was
// a fifth of the dashboard's CPU) and PostgreSQL parse and plan it too.
// Queries are written with ?type parameters (postgresParams, sqliteParams).

// read returns query prepared on the main pool, or for tx when it is not
// nil. Inside a transaction a statement not prepared yet is prepared on the
// transaction alone: preparing it on the pool would wait for a connection,
// and SQLite's only one is the transaction's.
func (db *DB) read(ctx context.Context, tx *bun.Tx, query string) (*sql.Stmt, error) {
	if tx == nil {
		return db.reads.getAs(ctx, db.bun.DB, query, db.dialectParams)
	}
	if st, ok := db.reads.cached(query); ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, db.dialectParams(query))
}

// readRow runs a prepared read of one row and scans it into dest; no row
// is a NotFound error naming what.
func (db *DB) readRow(ctx context.Context, tx *bun.Tx, what, query string, args []any, dest ...any) error {
	st, err := db.read(ctx, tx, query)
	if err == nil {
		err = st.QueryRowContext(ctx, args...).Scan(dest...)
	}
	return notFound(err, what)
}

const candidateSelect = `SELECT id, external_id, email, first_name, last_name, name, ti_user_id, time_zone, locale, created_at, updated_at
	FROM candidates WHERE `

// candidateWhere reads the candidate whose column (id, external_id or email)
// is arg, inside tx when it is not nil.
func (db *DB) candidateWhere(ctx context.Context, tx *bun.Tx, column string, arg any) (*examgate.Candidate, error) {
	var r candidateRow
	query := candidateSelect + "id = ?bigint"
	switch column {
	case "external_id":
		query = candidateSelect + "external_id = ?text"
	case "email":
		query = candidateSelect + "email = ?text"
	}
	if err := db.readRow(ctx, tx, "candidate", query, []any{arg},
		&r.ID, &r.ExternalID, &r.Email, &r.FirstName, &r.LastName, &r.Name, &r.TIUserID, &r.TimeZone, &r.Locale, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	return r.domain(), nil
}

const eligibilitySelect = `SELECT course_id, assignment_id, purchased_at, ends_at, checked_at, closed_at
	FROM eligibilities WHERE candidate_id = ?bigint AND exam_code = ?text`

// Eligibility returns a candidate's window for an exam or a NotFound error.
func (db *DB) Eligibility(ctx context.Context, candidateID int64, examCode string) (*examgate.Eligibility, error) {
	r := eligibilityRow{CandidateID: candidateID, ExamCode: examCode}
	if err := db.readRow(ctx, nil, "eligibility", eligibilitySelect, []any{candidateID, examCode},
		&r.CourseID, &r.AssignmentID, &r.PurchasedAt, &r.EndsAt, &r.CheckedAt, &r.ClosedAt); err != nil {
		return nil, err
	}
	return r.domain(), nil
}

const tokenUsedSelect = `SELECT count(*) FROM used_launch_tokens WHERE token_id = ?text`

// LaunchTokenUsed reports whether a launch token was already consumed.
func (db *DB) LaunchTokenUsed(ctx context.Context, tokenID string) (bool, error) {
	var n int
	err := db.readRow(ctx, nil, "launch token", tokenUsedSelect, []any{tokenID}, &n)
	return n > 0, err
}

const bookingsSelect = `SELECT id, starts_at, ends_at, time_zone, status, reschedules, link_token, created_at, updated_at
	FROM bookings WHERE candidate_id = ?bigint AND exam_code = ?text ORDER BY created_at DESC, id DESC LIMIT 100`

// BookingsOf returns a candidate's bookings of an exam, newest first.
func (db *DB) BookingsOf(ctx context.Context, candidateID int64, examCode string) ([]*examgate.Booking, error) {
	leave, err := db.bookings.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	st, err := db.read(ctx, nil, bookingsSelect)
	if err != nil {
		return nil, notFound(err, "bookings")
	}
	rows, err := st.QueryContext(ctx, candidateID, examCode)
	if err != nil {
		return nil, notFound(err, "bookings")
	}
	defer rows.Close()
	var out []*examgate.Booking
	for rows.Next() {
		r := bookingRow{CandidateID: candidateID, ExamCode: examCode}
		var link sql.NullString
		if err := rows.Scan(&r.ID, &r.StartsAt, &r.EndsAt, &r.TimeZone, &r.Status, &r.Reschedules, &link, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, notFound(err, "bookings")
		}
		r.LinkToken = link.String
		out = append(out, r.domain())
	}
	if err := rows.Err(); err != nil {
		return nil, notFound(err, "bookings")
	}
	if out == nil {
		out = []*examgate.Booking{}
	}
	return out, nil
}

const attemptSelect = `SELECT id, candidate_id, exam_code, booking_id, seed, started_at, deadline, status, ended_at FROM attempts WHERE `

// AttemptByBooking returns the attempt started from a booking, or NotFound.
func (db *DB) AttemptByBooking(ctx context.Context, bookingID int64) (*examgate.Attempt, error) {
	var r attemptRow
	if err := db.readRow(ctx, nil, "attempt", attemptSelect+"booking_id = ?bigint", []any{bookingID},
		&r.ID, &r.CandidateID, &r.ExamCode, &r.BookingID, &r.Seed, &r.StartedAt, &r.Deadline, &r.Status, &r.EndedAt); err != nil {
		return nil, err
	}
	return r.domain(), nil
}

const latestResultSelect = `SELECT id, attempt_id, points, max_points, percent, pass_mark, passed, items, created_at
	FROM results WHERE candidate_id = ?bigint AND exam_code = ?text ORDER BY created_at DESC, id DESC LIMIT 1`

// LatestResult returns a candidate's newest result of an exam, or NotFound.
func (db *DB) LatestResult(ctx context.Context, candidateID int64, examCode string) (*examgate.Result, error) {
	r := resultRow{CandidateID: candidateID, ExamCode: examCode}
	if err := db.readRow(ctx, nil, "result", latestResultSelect, []any{candidateID, examCode},
		&r.ID, &r.AttemptID, &r.Points, &r.MaxPoints, &r.Percent, &r.PassMark, &r.Passed, &r.Items, &r.CreatedAt); err != nil {
		return nil, err
	}
	return r.domain(), nil
}

// exec runs a prepared write in tx.
func (db *DB) exec(ctx context.Context, tx *bun.Tx, query string, args ...any) (sql.Result, error) {
	st, err := db.read(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// The statements of a launch's transaction, prepared like the reads.
const (
	insertUsedToken = `INSERT INTO used_launch_tokens (token_id, used_at, expires_at) VALUES (?text, ?timestamptz, ?timestamptz)
		ON CONFLICT DO NOTHING`
	updateCandidate = `UPDATE candidates SET external_id = ?text, email = ?text, first_name = ?text, last_name = ?text, name = ?text,
		ti_user_id = ?text, updated_at = ?timestamptz WHERE id = ?bigint`
	// A launch link without an assignment id keeps the one TI sent before.
	// A window closed early (a no-show under its exam's policy) stays
	// closed for the same purchase; a new purchase opens a new one.
	upsertEligibility = `INSERT INTO eligibilities AS e (candidate_id, exam_code, course_id, assignment_id, purchased_at, ends_at, checked_at)
		VALUES (?bigint, ?text, ?text, ?text, ?timestamptz, ?timestamptz, ?timestamptz)
		ON CONFLICT (candidate_id, exam_code) DO UPDATE SET course_id = EXCLUDED.course_id,
		assignment_id = CASE WHEN EXCLUDED.assignment_id <> '' THEN EXCLUDED.assignment_id ELSE e.assignment_id END,
		purchased_at = EXCLUDED.purchased_at, ends_at = EXCLUDED.ends_at,
		closed_at = CASE WHEN e.purchased_at = EXCLUDED.purchased_at THEN e.closed_at ELSE NULL END,
		checked_at = EXCLUDED.checked_at`
	endBrowserSessions = `DELETE FROM sessions WHERE candidate_id = ?bigint AND browser = ?text`
	insertSessionRow   = `INSERT INTO sessions (token_hash, candidate_id, browser, created_at, expires_at, last_seen_at)
		VALUES (?text, ?bigint, ?text, ?timestamptz, ?timestamptz, ?timestamptz)`
)

// readQueries are prepared once the schema is there (Migrate), so that a
// transaction never prepares one for itself alone.
var readQueries = []string{
	candidateSelect + "id = ?bigint", candidateSelect + "external_id = ?text", candidateSelect + "email = ?text",
	eligibilitySelect, tokenUsedSelect, bookingsSelect, attemptSelect + "booking_id = ?bigint", latestResultSelect,
	insertUsedToken, updateCandidate, upsertEligibility, endBrowserSessions, insertSessionRow,
}

// prepareReads prepares readQueries on the main pool.
func (db *DB) prepareReads(ctx context.Context) error {
	for _, q := range readQueries {
		if _, err := db.reads.getAs(ctx, db.bun.DB, q, db.dialectParams); err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
	}
	return nil
}
