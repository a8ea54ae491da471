package db

import (
	"context"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

var _ examgate.PartnerStore = (*DB)(nil)

// PartnerBookings lists bookings in change order (change_us, id) after the
// filter's cursor: one statement, whatever the filter.
func (db *DB) PartnerBookings(ctx context.Context, f examgate.BookingFilter) ([]examgate.BookingChange, error) {
	leave, err := db.bookings.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	var rows []bookingRow
	q := db.bun.NewSelect().Model(&rows).OrderExpr("change_us, id").Limit(int64(f.Limit))
	if f.ExamCode != "" {
		q = q.Where("exam_code = ?", f.ExamCode)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.CandidateExternalID != "" || f.Email != "" {
		// A subquery rather than a join keeps the scan into bookingRow plain.
		sub := db.bun.NewSelect().Table("candidates").Column("id")
		if f.CandidateExternalID != "" {
			sub = sub.Where("external_id = ?", f.CandidateExternalID)
		}
		if f.Email != "" {
			sub = sub.Where("email = ?", f.Email)
		}
		q = q.Where("candidate_id IN (?)", sub)
	}
	if !f.UpdatedSince.IsZero() {
		q = q.Where("change_us > ?", f.UpdatedSince.UnixMicro())
	}
	if f.After != nil {
		q = q.Where("(change_us > ? OR (change_us = ? AND id > ?))", f.After.ChangeUS, f.After.ChangeUS, f.After.ID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err, "bookings")
	}
	out := make([]examgate.BookingChange, len(rows))
	for i := range rows {
		out[i] = examgate.BookingChange{Booking: rows[i].domain(), Cursor: examgate.BookingCursor{ChangeUS: rows[i].ChangeUS, ID: rows[i].ID}}
	}
	return out, nil
}

// CandidatesByID returns the candidates with these ids.
func (db *DB) CandidatesByID(ctx context.Context, ids []int64) (map[int64]*examgate.Candidate, error) {
	out := make(map[int64]*examgate.Candidate, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []candidateRow
	if err := db.bun.NewSelect().Model(&rows).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, notFound(err, "candidates")
	}
	for i := range rows {
		out[rows[i].ID] = rows[i].domain()
	}
	return out, nil
}

// BookingsOfCandidates returns each candidate's newest bookings (at most
// limit per candidate), newest first, in one statement. The limit is per
// candidate (ROW_NUMBER over each candidate's rows), so one candidate with
// many bookings does not crowd the others out of the batch.
func (db *DB) BookingsOfCandidates(ctx context.Context, candidateIDs []int64, limit int) (map[int64][]*examgate.Booking, error) {
	out := make(map[int64][]*examgate.Booking, len(candidateIDs))
	if len(candidateIDs) == 0 {
		return out, nil
	}
	leave, err := db.bookings.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	var rows []bookingRow
	if err := db.newestPerCandidate(&rows, (*bookingRow)(nil), "created_at", candidateIDs, limit).Scan(ctx); err != nil {
		return nil, notFound(err, "bookings")
	}
	for i := range rows {
		out[rows[i].CandidateID] = append(out[rows[i].CandidateID], rows[i].domain())
	}
	return out, nil
}

// newestPerCandidate selects into rows the newest (by column, then id)
// limit rows of each candidate of model's table. Window functions need
// SQLite 3.25 or later, which the driver has.
func (db *DB) newestPerCandidate(rows, model any, column string, candidateIDs []int64, limit int) *bun.SelectQuery {
	order := bun.Safe(column + " DESC, id DESC")
	ranked := db.bun.NewSelect().Model(model).
		ColumnExpr("*").
		ColumnExpr("ROW_NUMBER() OVER (PARTITION BY candidate_id ORDER BY ?) AS newest", order).
		Where("candidate_id IN (?)", bun.In(candidateIDs))
	return db.bun.NewSelect().Model(rows).ModelTableExpr("(?) AS ?TableAlias", ranked).
		Where("newest <= ?", limit).OrderExpr("?", order)
}

// AttemptsByBooking returns the attempt started from each booking that has one.
func (db *DB) AttemptsByBooking(ctx context.Context, bookingIDs []int64) (map[int64]*examgate.Attempt, error) {
	out := make(map[int64]*examgate.Attempt, len(bookingIDs))
	if len(bookingIDs) == 0 {
		return out, nil
	}
	var rows []attemptRow
	if err := db.bun.NewSelect().Model(&rows).Where("booking_id IN (?)", bun.In(bookingIDs)).Scan(ctx); err != nil {
		return nil, notFound(err, "attempts")
	}
	for i := range rows {
		out[*rows[i].BookingID] = rows[i].domain()
	}
	return out, nil
}

// AttemptsOfCandidates returns each candidate's newest attempts (at most
// limit per candidate), newest first, in one statement.
func (db *DB) AttemptsOfCandidates(ctx context.Context, candidateIDs []int64, limit int) (map[int64][]*examgate.Attempt, error) {
	out := make(map[int64][]*examgate.Attempt, len(candidateIDs))
	if len(candidateIDs) == 0 {
		return out, nil
	}
	var rows []attemptRow
	if err := db.newestPerCandidate(&rows, (*attemptRow)(nil), "started_at", candidateIDs, limit).Scan(ctx); err != nil {
		return nil, notFound(err, "attempts")
	}
	for i := range rows {
		out[rows[i].CandidateID] = append(out[rows[i].CandidateID], rows[i].domain())
	}
	return out, nil
}

// ResultsByAttempt returns the result of each attempt that has one.
func (db *DB) ResultsByAttempt(ctx context.Context, attemptIDs []int64) (map[int64]*examgate.Result, error) {
	out := make(map[int64]*examgate.Result, len(attemptIDs))
	if len(attemptIDs) == 0 {
		return out, nil
	}
	var rows []resultRow
	if err := db.bun.NewSelect().Model(&rows).Where("attempt_id IN (?)", bun.In(attemptIDs)).Scan(ctx); err != nil {
		return nil, notFound(err, "results")
	}
	for i := range rows {
		out[rows[i].AttemptID] = rows[i].domain()
	}
	return out, nil
}

// DeliveryStates summarises the delivery jobs of each result as
// examgate.Deliveries.StateOf does: the jobs under the result's key (TI),
// or else those under its attempt's LTI score key (a learner who came from
// an LTI platform). One statement for every result.
func (db *DB) DeliveryStates(ctx context.Context, resultIDs []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(resultIDs))
	if len(resultIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ResultID  int64  `bun:"result_id"`
		AttemptID int64  `bun:"attempt_id"`
		Key       string `bun:"ordering_key"`
		State     string `bun:"state"`
	}
	// The keys are built in SQL from the results' ids, as ResultJobKey and
	// LTIScoreJobKey build them; ordering_key <> '' lets the partial index
	// on jobs (ordering_key, id) serve the lookups.
	err := db.bun.NewSelect().TableExpr("results AS r").
		ColumnExpr("r.id AS result_id, r.attempt_id, j.ordering_key, j.state").
		Join("JOIN jobs AS j ON j.ordering_key <> '' AND j.ordering_key IN ('result:' || CAST(r.id AS TEXT), 'lti:attempt:' || CAST(r.attempt_id AS TEXT))").
		Where("r.id IN (?)", bun.In(resultIDs)).
		Scan(ctx, &rows)
	if err != nil {
		return nil, notFound(err, "jobs")
	}
	tiJobs := make(map[int64][]examgate.QueuedJob, len(resultIDs))
	ltiJobs := make(map[int64][]examgate.QueuedJob, len(resultIDs))
	for _, r := range rows {
		j := examgate.QueuedJob{Key: r.Key, State: r.State}
		switch r.Key {
		case examgate.ResultJobKey(r.ResultID):
			tiJobs[r.ResultID] = append(tiJobs[r.ResultID], j)
		case examgate.LTIScoreJobKey(r.AttemptID):
			ltiJobs[r.ResultID] = append(ltiJobs[r.ResultID], j)
		}
	}
	for _, id := range resultIDs {
		jobs := tiJobs[id]
		if len(jobs) == 0 {
			jobs = ltiJobs[id]
		}
		out[id] = examgate.DeliveryState(jobs)
	}
	return out, nil
}
