package main

import (
	"context"
	"net/url"
	"strings"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/tiapi"
)

// tiResults adapts the TI client to what result delivery needs. Its
// requests are background work: a learner's launch goes before them when
// both wait for TI's rate limit.
type tiResults struct{ *tiapi.Client }

func (t tiResults) UserID(ctx context.Context, email string) (string, error) {
	return t.Client.UserID(tiapi.WithPriority(ctx, tiapi.Background), email)
}

func (t tiResults) ResetProgress(ctx context.Context, learnerID, slug string) error {
	return t.Client.ResetProgress(tiapi.WithPriority(ctx, tiapi.Background), learnerID, slug)
}

func (t tiResults) PostResult(ctx context.Context, p examgate.TIResultPost) error {
	ctx = tiapi.WithPriority(ctx, tiapi.Background)
	return t.Client.PostResult(ctx, tiapi.ResultPost{
		Status: p.Status, AssignmentID: p.AssignmentID, LearnerID: p.LearnerID,
		Grade: p.Grade, GradeFeedback: p.GradeFeedback,
	})
}

// courseURL signs the learner into TI with TI's JWT SSO and returns the
// link that lands them on the exam's course page.
// coursePage is the exam's course on TI, where a learner without an
// examgate session signs in; in demo mode, the demo page stands for the
// course. Nil when examgate serves LTI only.
func coursePage(cfg *config) func(*examgate.Exam) string {
	switch {
	case cfg.Demo:
		base := strings.TrimRight(cfg.BaseURL, "/")
		return func(*examgate.Exam) string { return base + "/demo" }
	case cfg.TIOff:
		return nil
	}
	base := strings.TrimRight(cfg.TIBaseURL, "/")
	return func(exam *examgate.Exam) string {
		if exam.TI.CourseSlug == "" {
			return base + "/learn"
		}
		return base + "/learn/course/" + url.PathEscape(exam.TI.CourseSlug)
	}
}

func courseURL(cfg *config, clock examgate.Clock) func(*examgate.Candidate, *examgate.Exam) (string, error) {
	base := strings.TrimRight(cfg.TIBaseURL, "/")
	return func(c *examgate.Candidate, exam *examgate.Exam) (string, error) {
		returnTo := "/learn" // a path on TI: the token cannot send the learner elsewhere
		if exam.TI.CourseSlug != "" {
			returnTo = "/learn/course/" + url.PathEscape(exam.TI.CourseSlug)
		}
		token, err := tiapi.SSOToken(cfg.TIAPIKey, tiapi.SSOUser{
			Email: c.Email, ExternalCustomerID: c.ExternalID, FirstName: c.FirstName, LastName: c.LastName,
		}, returnTo, clock.Now())
		if err != nil {
			return "", examgate.Wrap(examgate.EINTERNAL, err, "could not sign you in to your course")
		}
		return tiapi.SSOURL(base, token), nil
	}
}
