package graph

import (
	"context"
	"strconv"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/graph/model"
)

func (r *mutationResolver) sessionAndID(ctx context.Context, bookingID string) (*examgate.Session, int64, error) {
	s, err := examgate.RequireSession(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, err := parseID(bookingID)
	return s, id, err
}

// booking converts a mutation's result, with the permissions as of now.
func (r *mutationResolver) booking(ctx context.Context, b *examgate.Booking, err error) (*model.Booking, error) {
	if err != nil {
		return nil, err
	}
	exam, err := r.Catalog.Exam(b.ExamCode)
	if err != nil {
		return nil, err
	}
	return r.toBookingWithAttempt(ctx, b, exam, r.Clock.Now())
}

// toBookingWithAttempt adds the id of the attempt a started booking led to.
func (r *Resolver) toBookingWithAttempt(ctx context.Context, b *examgate.Booking, exam *examgate.Exam, now time.Time) (*model.Booking, error) {
	m := toBooking(b, exam, now)
	if b.Status == examgate.BookingStarted || b.Status == examgate.BookingCompleted {
		a, err := r.Attempts.ByBooking(ctx, b.ID)
		if err != nil && examgate.ErrorCode(err) != examgate.ENOTFOUND {
			return nil, err
		}
		if a != nil {
			id := strconv.FormatInt(a.ID, 10)
			m.AttemptID = &id
		}
	}
	return m, nil
}

// learnerAndAttempt is sessionAndAttempt for the autosaves, which check the
// session in their own statement: it is not read here.
func learnerAndAttempt(ctx context.Context, id string) (*examgate.SessionRef, int64, error) {
	who := examgate.SessionRefFromContext(ctx)
	if who == nil {
		_, err := examgate.RequireSession(ctx)
		return nil, 0, err
	}
	n, err := attemptID(id)
	return who, n, err
}

func sessionAndAttempt(ctx context.Context, id string) (*examgate.Session, int64, error) {
	s, err := examgate.RequireSession(ctx)
	if err != nil {
		return nil, 0, err
	}
	n, err := attemptID(id)
	return s, n, err
}
