package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

var _ examgate.BookingStore = (*DB)(nil)

// SeatsTaken returns the seats taken per slot start (unix seconds).
func (db *DB) SeatsTaken(ctx context.Context, examCode string, from, to time.Time) (map[int64]int, error) {
	leave, err := db.bookings.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	var rows []struct {
		StartsAt time.Time `bun:"starts_at"`
		Taken    int       `bun:"taken"`
	}
	err = db.bun.NewSelect().Table("slot_seats").Column("starts_at", "taken").
		Where("exam_code = ? AND starts_at >= ? AND starts_at < ? AND taken > 0", examCode, from.UTC(), to.UTC()).
		Scan(ctx, &rows)
	if err != nil {
		return nil, notFound(err, "slots")
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.StartsAt.Unix()] = r.Taken
	}
	return out, nil
}

// BookingByID returns a booking or a NotFound error.
func (db *DB) BookingByID(ctx context.Context, id int64) (*examgate.Booking, error) {
	return inClass(ctx, db.bookings, func() (*examgate.Booking, error) { return bookingByID(ctx, db.bun, id) })
}

// BookingByLinkToken returns the booking an email or calendar link names,
// or a NotFound error.
func (db *DB) BookingByLinkToken(ctx context.Context, token string) (*examgate.Booking, error) {
	var row bookingRow
	if token == "" {
		return nil, examgate.Errorf(examgate.ENOTFOUND, "This booking link is not valid.")
	}
	if err := db.bun.NewSelect().Model(&row).Where("link_token = ?", token).Scan(ctx); err != nil {
		return nil, notFound(err, "booking")
	}
	return row.domain(), nil
}

func bookingByID(ctx context.Context, q bun.IDB, id int64) (*examgate.Booking, error) {
	var row bookingRow
	if err := q.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "booking")
	}
	return row.domain(), nil
}

// BookingByRequest returns the booking a client key acted on.
func (db *DB) BookingByRequest(ctx context.Context, candidateID int64, clientKey string) (*examgate.Booking, string, error) {
	leave, err := db.bookings.enter(ctx)
	if err != nil {
		return nil, "", err
	}
	defer leave()
	var req bookingRequestRow
	err = db.bun.NewSelect().Model(&req).Where("candidate_id = ? AND client_key = ?", candidateID, clientKey).Scan(ctx)
	if err != nil {
		return nil, "", notFound(err, "request")
	}
	b, err := bookingByID(ctx, db.bun, req.BookingID)
	return b, req.Action, err
}

var (
	errSlotFull    = examgate.Errorf(examgate.ESLOTFULL, "This time slot is full. Choose another time.")
	errChanged     = examgate.Errorf(examgate.ECONFLICT, "This booking was changed meanwhile. Reload the page and try again.")
	errPending     = examgate.Errorf(examgate.ECONFLICT, "You already have a booking for this exam. Cancel or reschedule it instead.")
	errOpenAttempt = examgate.Errorf(examgate.ECONFLICT, "You already have this exam in progress. Go back to your exam dashboard to continue it.")
)

// takeSeat takes one seat of a slot with a single conditional UPDATE, so
// that concurrent bookings (also from other processes) cannot oversell: on
// PostgreSQL the row lock makes a second writer re-check taken < seats
// against the committed value; SQLite has one writer at a time.
func takeSeat(ctx context.Context, tx bun.Tx, examCode string, start time.Time, seats int) error {
	if _, err := tx.NewRaw(`INSERT INTO slot_seats (exam_code, starts_at, taken) VALUES (?, ?, 0) ON CONFLICT DO NOTHING`,
		examCode, start.UTC()).Exec(ctx); err != nil {
		return err
	}
	res, err := tx.NewRaw(`UPDATE slot_seats SET taken = taken + 1 WHERE exam_code = ? AND starts_at = ? AND taken < ?`,
		examCode, start.UTC(), seats).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errSlotFull
	}
	return nil
}

func freeSeat(ctx context.Context, tx bun.Tx, examCode string, start time.Time) error {
	_, err := tx.NewRaw(`UPDATE slot_seats SET taken = taken - 1 WHERE exam_code = ? AND starts_at = ? AND taken > 0`,
		examCode, start.UTC()).Exec(ctx)
	return err
}

// change runs a booking change in a transaction with its client key and its
// jobs, and turns constraint violations into domain errors.
func (db *DB) change(ctx context.Context, req examgate.Request, jobs examgate.JobsFunc, fn func(tx bun.Tx) (*examgate.Booking, error)) (*examgate.Booking, error) {
	leave, err := db.bookings.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	var out *examgate.Booking
	err = db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		b, err := fn(tx)
		if err != nil {
			return err
		}
		res, err := tx.NewInsert().Model(&bookingRequestRow{
			CandidateID: req.CandidateID, ClientKey: req.ClientKey, Action: req.Action, BookingID: b.ID, CreatedAt: req.At,
		}).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errDuplicateKey
		}
		// Stamped before the jobs are built, so that the events they carry
		// have the updatedAt the partner feed shows.
		if b.UpdatedAt, err = stampChange(ctx, tx, b.ID, req.At); err != nil {
			return err
		}
		if jobs != nil {
			js, err := jobs(b)
			if err != nil {
				return err
			}
			if err := EnqueueTx(ctx, tx, req.At, js...); err != nil {
				return err
			}
		}
		out = b
		return nil
	})
	if err == nil {
		return out, nil
	}
	// Whatever failed, if a request with the same key committed meanwhile
	// (a double click), answer with its result rather than this failure.
	var r bookingRequestRow
	if db.bun.NewSelect().Model(&r).Where("candidate_id = ? AND client_key = ?", req.CandidateID, req.ClientKey).Scan(ctx) == nil {
		return nil, &examgate.DuplicateRequestError{BookingID: r.BookingID}
	}
	if isUniqueViolation(err) {
		switch req.Action {
		case examgate.ActionBook:
			return nil, errPending
		case examgate.ActionStart:
			return nil, errOpenAttempt
		}
	}
	var de *examgate.Error
	if errors.As(err, &de) {
		return nil, err
	}
	return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not save the booking")
}

var errDuplicateKey = errors.New("client key already used")

// CreateBooking takes a seat and inserts a pending booking.
func (db *DB) CreateBooking(ctx context.Context, b *examgate.Booking, seats int, req examgate.Request, jobs examgate.JobsFunc) (*examgate.Booking, error) {
	return db.change(ctx, req, jobs, func(tx bun.Tx) (*examgate.Booking, error) {
		if err := takeSeat(ctx, tx, b.ExamCode, b.StartsAt, seats); err != nil {
			return nil, err
		}
		row := bookingRow{
			CandidateID: b.CandidateID, ExamCode: b.ExamCode, StartsAt: b.StartsAt.UTC(), EndsAt: b.EndsAt.UTC(),
			TimeZone: b.TimeZone, Status: string(examgate.BookingPending), LinkToken: b.LinkToken, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt,
		}
		if _, err := tx.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
			return nil, err
		}
		return row.domain(), nil
	})
}

// MoveBooking moves a pending booking to a new slot: new seat taken, old seat
// freed, in one transaction; the guard on status and start makes a booking
// changed by another request fail instead of being moved twice.
func (db *DB) MoveBooking(ctx context.Context, b *examgate.Booking, start, end time.Time, seats int, req examgate.Request, jobs examgate.JobsFunc) (*examgate.Booking, error) {
	return db.change(ctx, req, jobs, func(tx bun.Tx) (*examgate.Booking, error) {
		res, err := tx.NewUpdate().Model((*bookingRow)(nil)).
			Set("starts_at = ?", start.UTC()).Set("ends_at = ?", end.UTC()).
			Set("reschedules = reschedules + 1").Set("updated_at = ?", req.At).
			Where("id = ? AND status = ? AND starts_at = ? AND reschedules = ?", b.ID, examgate.BookingPending, b.StartsAt.UTC(), b.Reschedules).
			Exec(ctx)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, errChanged
		}
		// Seat rows are locked in start order, so that two reschedules in
		// opposite directions cannot deadlock on PostgreSQL.
		if start.Before(b.StartsAt) {
			if err := takeSeat(ctx, tx, b.ExamCode, start, seats); err != nil {
				return nil, err
			}
			if err := freeSeat(ctx, tx, b.ExamCode, b.StartsAt); err != nil {
				return nil, err
			}
		} else {
			if err := freeSeat(ctx, tx, b.ExamCode, b.StartsAt); err != nil {
				return nil, err
			}
			if err := takeSeat(ctx, tx, b.ExamCode, start, seats); err != nil {
				return nil, err
			}
		}
		return bookingByID(ctx, tx, b.ID)
	})
}

// ChangeBookingStatus moves a booking out of its current status.
func (db *DB) ChangeBookingStatus(ctx context.Context, b *examgate.Booking, to examgate.BookingStatus, free bool, req examgate.Request, jobs examgate.JobsFunc) (*examgate.Booking, error) {
	return db.change(ctx, req, jobs, func(tx bun.Tx) (*examgate.Booking, error) {
		res, err := tx.NewUpdate().Model((*bookingRow)(nil)).
			Set("status = ?", to).Set("updated_at = ?", req.At).
			Where("id = ? AND status = ? AND starts_at = ?", b.ID, b.Status, b.StartsAt.UTC()).
			Exec(ctx)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, errChanged
		}
		if free {
			if err := freeSeat(ctx, tx, b.ExamCode, b.StartsAt); err != nil {
				return nil, err
			}
		}
		return bookingByID(ctx, tx, b.ID)
	})
}

// MarkNoShows marks the pending bookings of an exam that started at or
// before startedBefore as no-shows, and ends those candidates' eligibility when the
// exam's policy says so.
func (db *DB) MarkNoShows(ctx context.Context, examCode string, startedBefore, now time.Time, endEligibility bool, jobs examgate.JobsFunc) ([]*examgate.Booking, error) {
	leave, err := db.bookings.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	var marked []*examgate.Booking
	err = db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var rows []bookingRow
		err := tx.NewUpdate().Model(&rows).
			Set("status = ?", examgate.BookingNoShow).Set("updated_at = ?", now).
			Where("exam_code = ? AND status = ? AND starts_at <= ?", examCode, examgate.BookingPending, startedBefore.UTC()).
			Returning("*").Scan(ctx)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		for i := range rows {
			b := rows[i].domain()
			marked = append(marked, b)
			if endEligibility {
				if _, err := tx.NewUpdate().Model((*eligibilityRow)(nil)).Set("closed_at = ?", now).
					Where("candidate_id = ? AND exam_code = ? AND ends_at > ? AND closed_at IS NULL", b.CandidateID, examCode, now).Exec(ctx); err != nil {
					return err
				}
			}
		}
		// Each booking is stamped (now, then a microsecond apart) before its
		// jobs are built, so that its event has the feed's updatedAt.
		for _, b := range marked {
			if b.UpdatedAt, err = stampChange(ctx, tx, b.ID, now); err != nil {
				return err
			}
			if jobs != nil {
				js, err := jobs(b)
				if err != nil {
					return err
				}
				if err := EnqueueTx(ctx, tx, now, js...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not mark no-shows")
	}
	return marked, nil
}

// SetTimeZone stores the candidate's time zone.
func (db *DB) SetTimeZone(ctx context.Context, candidateID int64, tz string) (*examgate.Candidate, error) {
	if _, err := db.bun.NewUpdate().Model((*candidateRow)(nil)).Set("time_zone = ?", tz).
		Where("id = ?", candidateID).Exec(ctx); err != nil {
		return nil, notFound(err, "candidate")
	}
	return db.CandidateByID(ctx, candidateID)
}
