package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/tiapi/titest"
)

// TestDocumentedTIEndToEnd runs the real binary against a TI that answers
// as its documentation shows (enveloped answers, string errors), and
// against the bare layouts of TI's guides with error objects and events
// dated by createdAt: a new learner whose token carries only email, name
// and course_id launches, fails the exam, and the incomplete result and
// then the course reset reach TI.
func TestDocumentedTIEndToEnd(t *testing.T) {
	bin := crashBuild(t)
	for _, store := range []string{"sqlite", "postgres"} {
		for _, variant := range []string{"documented", "bare"} {
			t.Run(store+"/"+variant, func(t *testing.T) {
				dsn := filepath.Join(t.TempDir(), "examgate.db")
				if store == "postgres" {
					dsn = dbtest.PostgresURL(t)
				}
				fake := titest.New(crashKey)
				if variant == "bare" {
					fake.SetShape(titest.Bare)
					fake.SetErrorStyle(titest.ObjectErrors)
					fake.SetEventTime(titest.CreatedAtISO)
				}
				tiEndToEnd(t, bin, dsn, fake)
			})
		}
	}
}

func tiEndToEnd(t *testing.T, bin, dsn string, fake *titest.Server) {
	catalog := filepath.Join(t.TempDir(), "exams.yaml")
	if err := os.WriteFile(catalog, []byte(crashCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	tiSrv := httptest.NewServer(fake)
	defer tiSrv.Close()
	user := fake.AddUser(titest.User{Email: crashEmail, FirstName: "Ada", LastName: "Lovelace"})
	fake.AddPurchase(titest.Purchase{UserID: user.ID, CourseID: crashCourse, Slug: "crash-course", Time: time.Now().Add(-time.Hour)})
	srv := crashStart(t, bin, "server", []string{
		"EXAMGATE_TI_BASE_URL=" + tiSrv.URL, "EXAMGATE_TI_API_KEY=" + crashKey, "EXAMGATE_TI_SECRETS=" + crashSecret,
		"EXAMGATE_EXAMS=" + catalog, "EXAMGATE_DATABASE_URL=" + dsn,
	})

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tok, err := titest.SignLaunch(crashSecret, titest.LaunchToken{Email: crashEmail, Name: "Ada Lovelace", CourseID: crashCourse, SnakeCourseID: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser.Get(titest.LaunchURL(srv.base, crashExam, tok))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("launch = %d, want 303 to the dashboard", resp.StatusCode)
	}
	var me struct{ Name string }
	_ = json.Unmarshal(crashGraphQL(t, browser, srv.base, `{ me { name } }`)["me"], &me)
	if me.Name != "Ada Lovelace" {
		t.Fatalf("me.name = %q", me.Name)
	}
	var attempt struct{ ID string }
	_ = json.Unmarshal(crashGraphQL(t, browser, srv.base,
		`mutation { startOnDemand(input: {examCode: "CRASH-QUICK", clientKey: "ti-e2e-1"}) { id } }`)["startOnDemand"], &attempt)
	crashGraphQL(t, browser, srv.base, fmt.Sprintf(
		`mutation { saveAnswer(input: {attemptId: %q, itemId: "q1", choices: ["false"], clientSeq: 1}) { accepted } }`, attempt.ID))
	crashGraphQL(t, browser, srv.base, fmt.Sprintf(`mutation { submitAttempt(input: {attemptId: %q}) { status } }`, attempt.ID))

	crashPoll(t, 30*time.Second, "the course reset to reach TI", func() bool {
		resets := fake.Resets()
		return len(resets) == 1 && resets[0].Status == http.StatusOK
	})
	posts := fake.ResultPosts()
	want := fmt.Sprintf(`{"status":"incomplete","assignmentId":%q,"learnerId":%q,"grade":0,"gradeFeedback":"Failed"}`, crashAssignment, user.ID)
	if len(posts) != 1 || posts[0].Status != http.StatusFound || string(posts[0].Body) != want {
		t.Fatalf("result posts = %+v, want one %s answered 302", posts, want)
	}
	if reset := fake.Resets()[0]; reset.Path != "/incoming/v2/users/"+user.ID+"/resetProgress" || !strings.Contains(string(reset.Body), `"revokeAccess":true`) {
		t.Fatalf("reset = %s %s", reset.Path, reset.Body)
	}
}
