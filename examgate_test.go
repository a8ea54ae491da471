package examgate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
)

func TestMatchCandidate(t *testing.T) {
	ada := &examgate.Candidate{ID: 1, ExternalID: "cust-1", Email: "ada@example.com"}
	noExt := &examgate.Candidate{ID: 2, Email: "grace@example.com"}
	claims := func(ext, email string) *examgate.LaunchClaims {
		return &examgate.LaunchClaims{ExternalCustomerID: ext, Email: email}
	}
	cases := []struct {
		name           string
		byExt, byEmail *examgate.Candidate
		claims         *examgate.LaunchClaims
		want           *examgate.Candidate
		conflict       bool
	}{
		{"new learner", nil, nil, claims("cust-9", "new@example.com"), nil, false},
		{"same learner", ada, ada, claims("cust-1", "ada@example.com"), ada, false},
		{"email changed", ada, nil, claims("cust-1", "ada@new.example.com"), ada, false},
		{"new email owned by another", ada, noExt, claims("cust-1", "grace@example.com"), nil, true},
		{"email owned by other external id", nil, ada, claims("cust-2", "ada@example.com"), nil, true},
		{"email match, token without id", nil, ada, claims("", "ada@example.com"), ada, false},
		{"email match, candidate without id", nil, noExt, claims("cust-3", "grace@example.com"), noExt, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := examgate.MatchCandidate(tc.byExt, tc.byEmail, tc.claims)
			if tc.conflict {
				if examgate.ErrorCode(err) != examgate.ECONFLICT || !strings.Contains(examgate.ErrorMessage(err), tc.claims.Email) {
					t.Fatalf("err = %v, want a conflict naming the email", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestEligibilityEnd(t *testing.T) {
	bought := time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("X", -5*3600))
	// 90 days from 2026-03-02 04:30 UTC, across a DST change in many zones.
	if got, want := examgate.EligibilityEnd(bought, 90), time.Date(2026, 5, 31, 4, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	e := examgate.Eligibility{EndsAt: time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC)}
	if !e.Active(e.EndsAt.Add(-time.Nanosecond)) || e.Active(e.EndsAt) {
		t.Fatal("Active must hold strictly before EndsAt")
	}
}

func TestParseCatalogErrors(t *testing.T) {
	cases := map[string]string{
		"exams: []": "no exams",
		"exam: []":  "field exam not found",
		"exams: [{title: x, eligibilityDays: 1, ti: {courseIds: [c]}}]":                                                                         "exam #1: code: is required",
		"exams: [{code: 'a b', title: x, eligibilityDays: 1, ti: {courseIds: [c]}}]":                                                            `exam "a b": code:`,
		"exams: [{code: A, eligibilityDays: 1, ti: {courseIds: [c]}}]":                                                                          `exam "A": title: is required`,
		"exams: [{code: A, title: x, eligibilityDays: 0, ti: {courseIds: [c]}}]":                                                                `exam "A": eligibilityDays`,
		"exams: [{code: A, title: x, eligibilityDays: 9}]":                                                                                      `exam "A": ti.courseIds`,
		"exams: [{code: A, title: x, eligibilityDays: 9, ti: {courseIds: [c], slug: s}}]":                                                       "field slug not found",
		"exams: [{code: A, title: x, eligibilityDays: 9, ti: {courseIds: [c], assignmentId: assignment-7}}]":                                    `exam "A": ti.assignmentId: "assignment-7" is not a UUID`,
		"exams: [{code: A, title: x, eligibilityDays: 9, ti: {courseIds: [c], assignmentId: 123e4567-e89b-12d3-a456-42661417400}}]":             `is not a UUID`,
		"exams: [{code: A, title: x, eligibilityDays: 9, ti: {courseIds: [c]}}, {code: A, title: y, eligibilityDays: 9, ti: {courseIds: [c]}}]": `exam "A": code: appears twice`,
	}
	for in, want := range cases {
		_, err := examgate.ParseCatalog([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to contain %q", in, err, want)
		}
	}
	_, err := examgate.LoadCatalog("/nonexistent/exams.yaml")
	if err == nil || !strings.Contains(err.Error(), "EXAMGATE_EXAMS") {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseCatalog(t *testing.T) {
	c, err := examgate.ParseCatalog([]byte(`
exams:
  - code: DEMO-101
    title: Demo
    eligibilityDays: 90
    ti: {courseIds: ["c1", "c2"], courseSlug: demo, assignmentId: 123e4567-e89b-12d3-a456-426614174000}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Exam("DEMO-101")
	if err != nil || !e.HasCourse("c2") || e.HasCourse("c3") || e.HasCourse("") || e.TI.AssignmentID != "123e4567-e89b-12d3-a456-426614174000" {
		t.Fatalf("exam = %+v, %v", e, err)
	}
	if _, err := c.Exam("demo-101"); examgate.ErrorCode(err) != examgate.ENOTFOUND {
		t.Fatalf("codes are exact: %v", err)
	}
}
