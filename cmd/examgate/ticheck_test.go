package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/tiapi/titest"
)

const (
	checkKey    = "check-api-key-5e4d3c2b1a"
	checkSecret = "check-launch-secret-0f9e8d"
	checkCourse = "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d"
)

func checkCatalog(t *testing.T, course, assignment string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "exams.yaml")
	src := `exams:
  - code: CHK-1
    title: Check exam
    eligibilityDays: 30
    ti: {courseIds: ["` + course + `"], courseSlug: check-course, assignmentId: "` + assignment + `"}
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCheck(t *testing.T, vars map[string]string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"ti", "check"}, env(vars), &out, &errOut)
	s := out.String() + errOut.String()
	if strings.Contains(s, checkKey) || strings.Contains(s, checkSecret) {
		t.Fatalf("ti check printed a secret:\n%s", s)
	}
	return out.String(), err
}

func TestTICheck(t *testing.T) {
	fake := titest.New(checkKey)
	fake.SetRateLimit(120)
	fake.AddCourse(titest.Course{ID: checkCourse, Slug: "check-course"})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	vars := map[string]string{
		"EXAMGATE_TI_BASE_URL": srv.URL, "EXAMGATE_TI_API_KEY": checkKey, "EXAMGATE_TI_SECRETS": checkSecret,
		"EXAMGATE_EXAMS": checkCatalog(t, checkCourse, "123e4567-e89b-12d3-a456-426614174000"),
	}

	out, err := runCheck(t, vars)
	if err != nil {
		t.Fatalf("good setup: %v\n%s", err, out)
	}
	for _, want := range []string{
		`(?m)^launch secret\s+ok\s+1 set$`,
		`(?m)^API key\s+ok\s+`,
		`(?m)^clock\s+ok\s+within 1s of TI's clock`,
		`(?m)^rate limit\s+ok\s+TI allows 120 a minute`,
		`(?m)^exam CHK-1 course\s+ok\s+` + checkCourse + ` exists$`,
		`(?m)^exam CHK-1 assignment\s+ok\s+`,
		`(?m)^purchase events\s+ok\s+read 0 event\(s\) of course ` + checkCourse + `, enveloped layout$`,
		`(?m)^verdict: ready$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}

	// The bare layout is reported as such.
	fake.SetShape(titest.Bare)
	if out, err := runCheck(t, vars); err != nil || !strings.Contains(out, "bare layout") {
		t.Fatalf("bare TI: %v\n%s", err, out)
	}
	fake.SetShape(titest.Enveloped)

	// Enterprise limits with a standard pace: a warning, not a failure.
	fake.SetRateLimit(600)
	if out, err := runCheck(t, vars); err != nil || !strings.Contains(out, "EXAMGATE_TI_PLAN=enterprise") || !strings.Contains(out, "ready, with 1 warning") {
		t.Fatalf("enterprise TI: %v\n%s", err, out)
	}

	// A wrong key stops the check at once.
	bad := map[string]string{}
	for k, v := range vars {
		bad[k] = v
	}
	bad["EXAMGATE_TI_API_KEY"] = "wrong-key-1234567890"
	out, err = runCheck(t, bad)
	if err == nil || !regexp.MustCompile(`(?m)^API key\s+FAIL\s+.*EXAMGATE_TI_API_KEY`).MatchString(out) || strings.Contains(out, "wrong-key") {
		t.Fatalf("wrong key: %v\n%s", err, out)
	}

	// A course TI does not have, and one that is not even a UUID.
	bad["EXAMGATE_TI_API_KEY"] = checkKey
	bad["EXAMGATE_EXAMS"] = checkCatalog(t, "5a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d", "123e4567-e89b-12d3-a456-426614174000")
	if out, err := runCheck(t, bad); err == nil || !strings.Contains(out, "TI has no such course") {
		t.Fatalf("unknown course: %v\n%s", err, out)
	}
	bad["EXAMGATE_EXAMS"] = checkCatalog(t, "course-7", "123e4567-e89b-12d3-a456-426614174000")
	if out, err := runCheck(t, bad); err == nil || !strings.Contains(out, `"course-7" is not a UUID`) || !strings.Contains(out, "verdict: 1 failed") {
		t.Fatalf("malformed course: %v\n%s", err, out)
	}

	// A clock TI's sign-in would refuse.
	fake.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) }
	if out, err := runCheck(t, vars); err == nil || !regexp.MustCompile(`(?m)^clock\s+FAIL\s+this machine is 10m[01]s off`).MatchString(out) {
		t.Fatalf("skewed clock: %v\n%s", err, out)
	}
}
