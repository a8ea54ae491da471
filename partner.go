package examgate

import (
	"context"
	"time"
)

// Partner listing limits: a page of bookings.
const (
	PartnerPageDefault = 50
	PartnerPageMax     = 100
	// PartnerListMax bounds the bookings and attempts listed under one candidate.
	PartnerListMax = 100
)

// BookingCursor is a position in the change order of bookings: bookings are
// listed by (ChangeUS, ID), where ChangeUS is the booking's updated_at in
// microseconds, strictly increasing in commit order (see db.stampChange).
type BookingCursor struct {
	ChangeUS int64
	ID       int64
}

// BookingFilter selects bookings for partners; empty fields match all.
type BookingFilter struct {
	ExamCode            string
	CandidateExternalID string
	Email               string
	Status              BookingStatus
	// UpdatedSince keeps bookings changed strictly after this instant.
	UpdatedSince time.Time
	After        *BookingCursor
	Limit        int
}

// BookingChange is a booking at its place in the change order.
type BookingChange struct {
	*Booking
	Cursor BookingCursor
}

// PartnerStore is what the partner API reads. The batch methods take many
// ids at once so that one page costs a fixed number of statements.
type PartnerStore interface {
	PartnerBookings(ctx context.Context, f BookingFilter) ([]BookingChange, error)
	BookingByID(ctx context.Context, id int64) (*Booking, error)
	CandidateByExternalID(ctx context.Context, externalID string) (*Candidate, error)
	CandidateByEmail(ctx context.Context, email string) (*Candidate, error)
	CandidatesByID(ctx context.Context, ids []int64) (map[int64]*Candidate, error)
	BookingsOfCandidates(ctx context.Context, candidateIDs []int64, limit int) (map[int64][]*Booking, error)
	AttemptsByBooking(ctx context.Context, bookingIDs []int64) (map[int64]*Attempt, error)
	AttemptsOfCandidates(ctx context.Context, candidateIDs []int64, limit int) (map[int64][]*Attempt, error)
	ResultsByAttempt(ctx context.Context, attemptIDs []int64) (map[int64]*Result, error)
	// DeliveryStates returns DeliveryState of each result's delivery jobs.
	DeliveryStates(ctx context.Context, resultIDs []int64) (map[int64]string, error)
}

// PartnerBookings lists bookings in change order for a key with the
// bookings:read scope, one more than the limit to tell whether a page follows.
func PartnerBookings(ctx context.Context, s PartnerStore, f BookingFilter) ([]BookingChange, error) {
	if _, err := RequireScope(ctx, ScopeBookingsRead); err != nil {
		return nil, err
	}
	if f.Limit < 1 || f.Limit > PartnerPageMax {
		return nil, Errorf(EINVALID, "first must be between 1 and %d.", PartnerPageMax)
	}
	for _, v := range []string{f.ExamCode, f.CandidateExternalID, f.Email} {
		if len(v) > 320 {
			return nil, Errorf(EINVALID, "Filter values are at most 320 characters.")
		}
	}
	if f.Email != "" {
		f.Email = NormalizeEmail(f.Email)
	}
	f.Limit++
	return s.PartnerBookings(ctx, f)
}
