package db

import (
	"context"
	"time"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

type candidateRow struct {
	bun.BaseModel `bun:"table:candidates"`

	ID         int64   `bun:"id,pk,autoincrement"`
	ExternalID *string `bun:"external_id"` // NULL when TI sent none, so UNIQUE allows many
	Email      string  `bun:"email"`
	FirstName  string  `bun:"first_name"`
	LastName   string  `bun:"last_name"`
	Name       string  `bun:"name"`
	TIUserID   string  `bun:"ti_user_id"`
	TimeZone   string  `bun:"time_zone"`
	Locale     string  `bun:"locale"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (r *candidateRow) domain() *examgate.Candidate {
	c := &examgate.Candidate{
		ID: r.ID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName, Name: r.Name,
		TIUserID: r.TIUserID, TimeZone: r.TimeZone, Locale: r.Locale, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if isNoEmail(c.Email) {
		c.Email = "" // an LTI learner whose platform shares no email
	}
	if r.ExternalID != nil {
		c.ExternalID = *r.ExternalID
	}
	return c
}

type eligibilityRow struct {
	bun.BaseModel `bun:"table:eligibilities"`

	CandidateID  int64  `bun:"candidate_id,pk"`
	ExamCode     string `bun:"exam_code,pk"`
	CourseID     string `bun:"course_id"`
	AssignmentID string `bun:"assignment_id"`
	PurchasedAt  time.Time
	EndsAt       time.Time
	CheckedAt    time.Time
	ClosedAt     *time.Time `bun:"closed_at"`
}

// domain reports a window closed early as ending when it was closed.
func (r *eligibilityRow) domain() *examgate.Eligibility {
	e := &examgate.Eligibility{
		CandidateID: r.CandidateID, ExamCode: r.ExamCode, CourseID: r.CourseID,
		AssignmentID: r.AssignmentID, PurchasedAt: r.PurchasedAt.UTC(),
		EndsAt: r.EndsAt.UTC(), CheckedAt: r.CheckedAt.UTC(),
	}
	if r.ClosedAt != nil && r.ClosedAt.Before(e.EndsAt) {
		e.EndsAt = r.ClosedAt.UTC()
	}
	return e
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	ID          int64  `bun:"id,pk,autoincrement"`
	TokenHash   string `bun:"token_hash"`
	CandidateID int64  `bun:"candidate_id"`
	Browser     string `bun:"browser"`
	CreatedAt   time.Time
	ExpiresAt   time.Time
	LastSeenAt  time.Time `bun:"last_seen_at"`
}

type usedTokenRow struct {
	bun.BaseModel `bun:"table:used_launch_tokens"`

	TokenID   string `bun:"token_id,pk"`
	UsedAt    time.Time
	ExpiresAt time.Time
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type bookingRow struct {
	bun.BaseModel `bun:"table:bookings"`

	ID          int64  `bun:"id,pk,autoincrement"`
	CandidateID int64  `bun:"candidate_id"`
	ExamCode    string `bun:"exam_code"`
	StartsAt    time.Time
	EndsAt      time.Time
	TimeZone    string `bun:"time_zone"`
	Status      string `bun:"status"`
	Reschedules int    `bun:"reschedules"`
	LinkToken   string `bun:"link_token,nullzero"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ChangeUS    int64 `bun:"change_us"` // see stampChange
}

func (r *bookingRow) domain() *examgate.Booking {
	return &examgate.Booking{
		ID: r.ID, CandidateID: r.CandidateID, ExamCode: r.ExamCode,
		StartsAt: r.StartsAt.UTC(), EndsAt: r.EndsAt.UTC(), TimeZone: r.TimeZone,
		Status: examgate.BookingStatus(r.Status), Reschedules: r.Reschedules, LinkToken: r.LinkToken,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type bookingRequestRow struct {
	bun.BaseModel `bun:"table:booking_requests"`

	CandidateID int64  `bun:"candidate_id,pk"`
	ClientKey   string `bun:"client_key,pk"`
	Action      string `bun:"action"`
	BookingID   int64  `bun:"booking_id"`
	CreatedAt   time.Time
}

// insertSession creates a launch's session and ends the candidate's earlier
// sessions in the same browser family: a learner who launches again leaves
// no older session valid behind in that browser.
func (db *DB) insertSession(ctx context.Context, tx *bun.Tx, candidateID int64, s examgate.Session) error {
	if s.Browser != "" {
		if _, err := db.exec(ctx, tx, endBrowserSessions, candidateID, s.Browser); err != nil {
			return err
		}
	}
	seen := s.LastSeenAt
	if seen.IsZero() {
		seen = s.CreatedAt
	}
	_, err := db.exec(ctx, tx, insertSessionRow, s.TokenHash, candidateID, s.Browser, db.timeArg(s.CreatedAt), db.timeArg(s.ExpiresAt), db.timeArg(seen))
	return err
}
