package graph

import (
	"context"

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
func (r *mutationResolver) booking(b *examgate.Booking, err error) (*model.Booking, error) {
	if err != nil {
		return nil, err
	}
	exam, err := r.Catalog.Exam(b.ExamCode)
	if err != nil {
		return nil, err
	}
	return toBooking(b, exam, r.Clock.Now()), nil
}
