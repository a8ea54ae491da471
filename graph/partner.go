package graph

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/graph/model"
)

// Partner cursors are opaque to clients; inside they are the booking's
// place in the change order.
func encodeBookingCursor(c examgate.BookingCursor) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "bk:%d:%d", c.ChangeUS, c.ID))
}

func decodeBookingCursor(s string) (*examgate.BookingCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if rest, ok := strings.CutPrefix(string(b), "bk:"); err == nil && ok && len(s) <= 64 {
		us, id, _ := strings.Cut(rest, ":")
		c := examgate.BookingCursor{}
		var e1, e2 error
		c.ChangeUS, e1 = strconv.ParseInt(us, 10, 64)
		c.ID, e2 = strconv.ParseInt(id, 10, 64)
		if e1 == nil && e2 == nil && c.ID > 0 {
			return &c, nil
		}
	}
	return nil, examgate.Errorf(examgate.EINVALID, "after is not a cursor of partner.bookings; pass pageInfo.endCursor of the previous page.")
}

func (r *Resolver) partnerExam(code string) *model.PartnerExam {
	if e, err := r.Catalog.Exam(code); err == nil {
		return &model.PartnerExam{Code: e.Code, Title: e.Title}
	}
	return &model.PartnerExam{Code: code, Title: code} // an exam since removed from the catalog
}

func (r *Resolver) toPartnerBooking(b *examgate.Booking) *model.PartnerBooking {
	return &model.PartnerBooking{
		ID: strconv.FormatInt(b.ID, 10), Status: model.BookingStatus(upper(string(b.Status))),
		Exam: r.partnerExam(b.ExamCode), StartsAt: b.StartsAt, EndsAt: b.EndsAt, TimeZone: b.TimeZone,
		Reschedules: b.Reschedules, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, CandidateID: b.CandidateID,
	}
}

func toPartnerCandidate(c *examgate.Candidate) *model.PartnerCandidate {
	m := &model.PartnerCandidate{ID: strconv.FormatInt(c.ID, 10), Email: c.Email, FirstName: c.FirstName, LastName: c.LastName}
	if c.ExternalID != "" {
		m.ExternalID = &c.ExternalID
	}
	return m
}

func (r *Resolver) toPartnerAttempt(a *examgate.Attempt) *model.PartnerAttempt {
	m := &model.PartnerAttempt{
		ID: strconv.FormatInt(a.ID, 10), Exam: r.partnerExam(a.ExamCode), Status: model.AttemptStatus(upper(string(a.Status))),
		StartedAt: a.StartedAt, Deadline: a.Deadline,
	}
	if a.BookingID != 0 {
		id := strconv.FormatInt(a.BookingID, 10)
		m.BookingID = &id
	}
	if !a.EndedAt.IsZero() {
		m.EndedAt = &a.EndedAt
	}
	return m
}

func toPartnerResult(res *examgate.Result) *model.PartnerResult {
	return &model.PartnerResult{
		AttemptID: strconv.FormatInt(res.AttemptID, 10), ExamCode: res.ExamCode,
		Score: res.Points, MaxScore: res.MaxPoints, Percent: res.Percent, PassMark: res.PassMark, Passed: res.Passed,
		EndedAt: res.CreatedAt, ResultID: res.ID,
	}
}

// partnerLoaders checks the scope a partner field needs and returns the
// request's loaders.
func (r *Resolver) partnerLoaders(ctx context.Context, scope string) (*loaders, error) {
	if _, err := examgate.RequireScope(ctx, scope); err != nil {
		return nil, err
	}
	return r.loadersOf(ctx)
}

// partnerID reads an ID argument; a malformed one matches nothing.
func partnerID(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0
}

func (r *Resolver) resultOfAttempt(ctx context.Context, l *loaders, attemptID int64) (*model.PartnerResult, error) {
	res, ok, err := l.resultByAttempt.load(ctx, attemptID)
	if err != nil || !ok {
		return nil, err
	}
	return toPartnerResult(res), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}
