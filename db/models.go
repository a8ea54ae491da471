package db

import (
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
	TIUserID   string  `bun:"ti_user_id"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (r *candidateRow) domain() *examgate.Candidate {
	c := &examgate.Candidate{
		ID: r.ID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		TIUserID: r.TIUserID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
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
}

func (r *eligibilityRow) domain() *examgate.Eligibility {
	return &examgate.Eligibility{
		CandidateID: r.CandidateID, ExamCode: r.ExamCode, CourseID: r.CourseID,
		AssignmentID: r.AssignmentID, PurchasedAt: r.PurchasedAt.UTC(),
		EndsAt: r.EndsAt.UTC(), CheckedAt: r.CheckedAt.UTC(),
	}
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	ID          int64  `bun:"id,pk,autoincrement"`
	TokenHash   string `bun:"token_hash"`
	CandidateID int64  `bun:"candidate_id"`
	CreatedAt   time.Time
	ExpiresAt   time.Time
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
