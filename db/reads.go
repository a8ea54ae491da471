package db

import (
	"context"
	"database/sql"

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
		return db.reads.getAs(ctx, db.bun.DB, query, db.params)
	}
	if st, ok := db.reads.cached(query); ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, db.params(query))
}

// params turns ?type parameters into this database's.
func (db *DB) params(query string) string {
	if db.postgres {
		return postgresParams(query)
	}
	return sqliteParams(query)
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

const candidateSelect = `SELECT id, external_id, email, first_name, last_name, name, ti_user_id, time_zone, created_at, updated_at
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
		&r.ID, &r.ExternalID, &r.Email, &r.FirstName, &r.LastName, &r.Name, &r.TIUserID, &r.TimeZone, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	return r.domain(), nil
}

// Eligibility returns a candidate's window for an exam or a NotFound error.
func (db *DB) Eligibility(ctx context.Context, candidateID int64, examCode string) (*examgate.Eligibility, error) {
	r := eligibilityRow{CandidateID: candidateID, ExamCode: examCode}
	if err := db.readRow(ctx, nil, "eligibility", `SELECT course_id, assignment_id, purchased_at, ends_at, checked_at, closed_at
		FROM eligibilities WHERE candidate_id = ?bigint AND exam_code = ?text`, []any{candidateID, examCode},
		&r.CourseID, &r.AssignmentID, &r.PurchasedAt, &r.EndsAt, &r.CheckedAt, &r.ClosedAt); err != nil {
		return nil, err
	}
	return r.domain(), nil
}

// LaunchTokenUsed reports whether a launch token was already consumed.
func (db *DB) LaunchTokenUsed(ctx context.Context, tokenID string) (bool, error) {
	var n int
	err := db.readRow(ctx, nil, "launch token", `SELECT count(*) FROM used_launch_tokens WHERE token_id = ?text`, []any{tokenID}, &n)
	return n > 0, err
}

// BookingsOf returns a candidate's bookings of an exam, newest first.
func (db *DB) BookingsOf(ctx context.Context, candidateID int64, examCode string) ([]*examgate.Booking, error) {
	st, err := db.read(ctx, nil, `SELECT id, starts_at, ends_at, time_zone, status, reschedules, created_at, updated_at
		FROM bookings WHERE candidate_id = ?bigint AND exam_code = ?text ORDER BY created_at DESC, id DESC LIMIT 100`)
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
		if err := rows.Scan(&r.ID, &r.StartsAt, &r.EndsAt, &r.TimeZone, &r.Status, &r.Reschedules, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, notFound(err, "bookings")
		}
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

// LatestResult returns a candidate's newest result of an exam, or NotFound.
func (db *DB) LatestResult(ctx context.Context, candidateID int64, examCode string) (*examgate.Result, error) {
	r := resultRow{CandidateID: candidateID, ExamCode: examCode}
	if err := db.readRow(ctx, nil, "result", `SELECT id, attempt_id, points, max_points, percent, pass_mark, passed, items, created_at
		FROM results WHERE candidate_id = ?bigint AND exam_code = ?text ORDER BY created_at DESC, id DESC LIMIT 1`, []any{candidateID, examCode},
		&r.ID, &r.AttemptID, &r.Points, &r.MaxPoints, &r.Percent, &r.PassMark, &r.Passed, &r.Items, &r.CreatedAt); err != nil {
		return nil, err
	}
	return r.domain(), nil
}
