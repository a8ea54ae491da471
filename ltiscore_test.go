package examgate_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/lti/ags"
	"github.com/examgate/examgate/lti/ltitest"
)

const (
	lsIssuer = "https://account.onlineacademy.nl"
	lsClient = "71bafed5-5db8-483a-bc91-0531e651e57d"
)

// lsEnv is a store with the tool keys, the tool's JWKS and a fake platform
// on real listeners, and a worker sending lti.score jobs with the real
// client.
type lsEnv struct {
	store    *db.DB
	clock    *rdClock
	platform *ltitest.AGSService
	worker   *examgate.Worker
	scores   *examgate.LTIScores
}

func newLSEnv(t *testing.T, store *db.DB) *lsEnv {
	t.Helper()
	clock := &rdClock{t: rdT0}
	logger := slog.New(slog.DiscardHandler)
	keys := ags.NewKeys(store, clock)
	jwks := httptest.NewServer(ags.JWKSHandler(keys, logger))
	t.Cleanup(jwks.Close)
	platform := ltitest.NewAGSService(lsClient, jwks.URL)
	platform.Now = clock.Now
	t.Cleanup(platform.Start().Close)

	platforms := examgate.LTITokenURLFunc(func(_ context.Context, issuer, clientID string) (string, error) {
		if issuer == lsIssuer && clientID == lsClient {
			return platform.TokenURL(), nil
		}
		return "", examgate.Errorf(examgate.ENOTFOUND, "no such platform")
	})
	client := ags.NewClient(keys, clock)
	scores := &examgate.LTIScores{Platforms: platforms, AGS: client, LineItems: store, Clock: clock, Logger: logger}
	w := &examgate.Worker{Store: store, Clock: clock, Logger: logger, Backoff: rdBackoff}
	w.Handle(examgate.JobLTIScore, scores.Handle)
	return &lsEnv{store: store, clock: clock, platform: platform, worker: w, scores: scores}
}

func (e *lsEnv) enqueue(t *testing.T, p examgate.LTIScoreJob) {
	t.Helper()
	job, err := examgate.NewLTIScoreJob(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Enqueue(context.Background(), e.clock.Now(), job); err != nil {
		t.Fatal(err)
	}
}

// drain works every job due now.
func (e *lsEnv) drain(t *testing.T) {
	t.Helper()
	for range 20 {
		worked, err := e.worker.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !worked {
			return
		}
	}
	t.Fatal("jobs still due after 20 runs")
}

func (e *lsEnv) jobs(t *testing.T, attemptID int64) []examgate.QueuedJob {
	t.Helper()
	jobs, err := e.store.Jobs(context.Background(), examgate.JobFilter{Kind: examgate.JobLTIScore, Key: examgate.LTIScoreJobKey(attemptID)})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func lsScore(attemptID int64, lineItem string, completed bool, at time.Time) examgate.LTIScoreJob {
	p := examgate.LTIScoreJob{
		AttemptID: attemptID, Issuer: lsIssuer, ClientID: lsClient, LineItemURL: lineItem, UserID: "sub-12345",
		ActivityProgress: examgate.LTIActivityInProgress, GradingProgress: examgate.LTIGradingPending,
		ScoreMaximum: 20, Timestamp: at,
	}
	if completed {
		given := 17.0
		p.ActivityProgress, p.GradingProgress, p.ScoreGiven = examgate.LTIActivityCompleted, examgate.LTIGradingFullyGraded, &given
	}
	return p
}

func TestLTIScoreDelivery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLSEnv(t, store)
		li := e.platform.ScoresLineItemURL("course-version-42") // SkillsTown's form
		started := rdT0.Add(250 * time.Millisecond)
		ended := rdT0.Add(31*time.Minute + 7*time.Millisecond)
		e.enqueue(t, lsScore(7, li, false, started))
		e.enqueue(t, lsScore(7, li, true, ended))
		e.drain(t)

		got := e.platform.Scores()
		if len(got) != 2 {
			t.Fatalf("%d scores arrived, want 2", len(got))
		}
		if got[0].ActivityProgress != "InProgress" || got[0].GradingProgress != "Pending" || got[0].ScoreGiven != nil ||
			got[0].Timestamp != "2026-12-01T10:00:00.250+00:00" {
			t.Errorf("start score %+v", got[0])
		}
		final := got[1]
		switch {
		case final.LineItem != "course-version-42" || final.UserID != "sub-12345":
			t.Errorf("final score went to %q for %q", final.LineItem, final.UserID)
		case final.ActivityProgress != "Completed" || final.GradingProgress != "FullyGraded":
			t.Errorf("final score progress %q/%q", final.ActivityProgress, final.GradingProgress)
		case final.ScoreGiven == nil || *final.ScoreGiven != 17 || final.ScoreMaximum == nil || *final.ScoreMaximum != 20:
			t.Errorf("final score %v of %v", final.ScoreGiven, final.ScoreMaximum)
		case final.Timestamp != "2026-12-01T10:31:00.007+00:00":
			t.Errorf("final timestamp %q", final.Timestamp)
		}
		if n := e.platform.TokenRequests(); n != 1 {
			t.Errorf("%d token requests for two scores, want 1", n)
		}
		for _, j := range e.jobs(t, 7) {
			if j.State != examgate.JobDone || j.Attempts != 1 {
				t.Errorf("job %d: %s after %d attempts", j.ID, j.State, j.Attempts)
			}
			if !j.GiveUpAt.Equal(j.RunAt.Add(examgate.DefaultJobMaxAge)) {
				t.Errorf("job %d gives up at %s, want as TI results, %s after it was due", j.ID, j.GiveUpAt, examgate.DefaultJobMaxAge)
			}
		}
	})
}

// A launch with only the line items container: the first score finds or
// creates the link's line item, which every later score of the link
// reuses without asking again.
func TestLTIScoreFindsOrCreatesTheLineItem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLSEnv(t, store)
		viaContainer := func(attempt int64, link string, completed bool) examgate.LTIScoreJob {
			p := lsScore(attempt, "", completed, rdT0)
			p.LineItemsURL, p.ResourceLinkID, p.ResourceID, p.Label, p.LineItemMaximum = e.platform.LineItemsURL(), link, "DEMO-101", "Demo exam", 20
			return p
		}
		e.enqueue(t, viaContainer(1, "rl-1", false))
		e.enqueue(t, viaContainer(1, "rl-1", true))
		e.enqueue(t, viaContainer(2, "rl-1", true))
		e.drain(t)
		items := e.platform.LineItems()
		if len(items) != 1 || items[0].ResourceLinkID != "rl-1" || items[0].Label != "Demo exam" || items[0].ScoreMaximum != 20 {
			t.Fatalf("line items %+v, want one created for rl-1", items)
		}
		got := e.platform.Scores()
		if len(got) != 3 {
			t.Fatalf("%d scores, want 3", len(got))
		}
		for _, sc := range got {
			if !strings.HasSuffix(items[0].ID, "/"+sc.LineItem) {
				t.Errorf("score went to %q, not the created line item %q", sc.LineItem, items[0].ID)
			}
		}
		if url, err := store.LTILineItem(context.Background(), lsIssuer, lsClient, "rl-1"); err != nil || url != items[0].ID {
			t.Fatalf("remembered line item %q, %v", url, err)
		}
		// A line item the teacher made for another link is found, not duplicated.
		teacher := e.platform.AddLineItem(ltitest.AGSLineItem{ScoreMaximum: 5, Label: "Quiz", ResourceLinkID: "rl-2"})
		e.enqueue(t, viaContainer(3, "rl-2", true))
		e.drain(t)
		if n := len(e.platform.LineItems()); n != 2 {
			t.Fatalf("%d line items after a link that had one, want 2", n)
		}
		if last := e.platform.Scores()[3]; !strings.HasSuffix(teacher.ID, "/"+last.LineItem) {
			t.Fatalf("score went to %q, want the teacher's %q", last.LineItem, teacher.ID)
		}
	})
}

// An in-progress score whose attempt has ended (a late retry, or a staff
// requeue) is not sent after the final one.
func TestLTIScoreInProgressAfterEndIsSkipped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLSEnv(t, store)
		e.scores.Results = endedAttempts{8: true}
		li := e.platform.ScoresLineItemURL("li")
		e.enqueue(t, lsScore(7, li, false, rdT0)) // attempt 7 still open
		e.enqueue(t, lsScore(8, li, false, rdT0))
		e.enqueue(t, lsScore(8, li, true, rdT0.Add(time.Minute)))
		e.drain(t)
		got := e.platform.Scores()
		if len(got) != 2 || got[0].ActivityProgress != "InProgress" || got[1].ActivityProgress != "Completed" {
			t.Fatalf("scores sent: %+v, want attempt 7's in-progress and attempt 8's final only", got)
		}
		for _, j := range append(e.jobs(t, 7), e.jobs(t, 8)...) {
			if j.State != examgate.JobDone {
				t.Errorf("job %d: %s", j.ID, j.State)
			}
		}
	})
}

// endedAttempts has results for the attempts it holds.
type endedAttempts map[int64]bool

func (m endedAttempts) ResultByAttempt(_ context.Context, id int64) (*examgate.Result, error) {
	if m[id] {
		return &examgate.Result{AttemptID: id}, nil
	}
	return nil, examgate.Errorf(examgate.ENOTFOUND, "no result")
}

func TestLTIScoreRetries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLSEnv(t, store)
		li := e.platform.LineItemURL("li-1") + "?type_id=3"
		e.enqueue(t, lsScore(8, li, true, rdT0))

		// 429: back after Retry-After, not the backoff.
		e.platform.FailScores(429, 1, "40")
		e.drain(t)
		j := e.jobs(t, 8)[0]
		if j.State != examgate.JobQueued || !j.RunAt.Equal(rdT0.Add(40*time.Second)) || !strings.Contains(j.LastError, "429") {
			t.Fatalf("after 429: %s, run at %s, %q", j.State, j.RunAt, j.LastError)
		}
		// 500: the backoff, rdBackoff(2) = 26s after the second attempt.
		e.clock.Add(40 * time.Second)
		e.platform.FailScores(500, 1, "")
		e.drain(t)
		j = e.jobs(t, 8)[0]
		if j.State != examgate.JobQueued || !j.RunAt.Equal(e.clock.Now().Add(26*time.Second)) {
			t.Fatalf("after 500: %s, run at %s", j.State, j.RunAt)
		}
		e.clock.Add(26 * time.Second)
		e.drain(t)
		if j = e.jobs(t, 8)[0]; j.State != examgate.JobDone || j.Attempts != 3 {
			t.Fatalf("after recovery: %s after %d attempts", j.State, j.Attempts)
		}
		if got := e.platform.Scores(); len(got) != 1 || got[0].Query != "type_id=3" {
			t.Fatalf("scores %+v", got)
		}

		// 400: failed at once with the platform's words.
		e.enqueue(t, lsScore(9, li, true, rdT0))
		e.platform.FailScores(400, 1, "")
		e.drain(t)
		if j = e.jobs(t, 9)[0]; j.State != examgate.JobFailed || !strings.Contains(j.LastError, "simulated failure (HTTP 400)") {
			t.Fatalf("after 400: %s, %q", j.State, j.LastError)
		}

		// An unregistered platform: failed, saying what to do.
		p := lsScore(10, li, true, rdT0)
		p.ClientID = "forgotten-client"
		e.enqueue(t, p)
		e.drain(t)
		if j = e.jobs(t, 10)[0]; j.State != examgate.JobFailed || !strings.Contains(j.LastError, "register it again") {
			t.Fatalf("unknown platform: %s, %q", j.State, j.LastError)
		}
	})
}

func TestLTIScoreWithoutRegistrations(t *testing.T) {
	scores := &examgate.LTIScores{Logger: slog.New(slog.DiscardHandler)}
	job, err := examgate.NewLTIScoreJob(lsScore(1, "https://lms.example.com/li/1", true, rdT0))
	if err != nil {
		t.Fatal(err)
	}
	err = scores.Handle(context.Background(), &examgate.QueuedJob{ID: 1, Kind: job.Kind, Payload: job.Payload})
	var later *examgate.RetryLater
	if !errors.As(err, &later) || later.After != time.Hour {
		t.Fatalf("without registrations: %v", err)
	}
}

func TestNewLTIScoreJob(t *testing.T) {
	ok := lsScore(5, "https://lms.example.com/li/1", true, rdT0)
	job, err := examgate.NewLTIScoreJob(ok)
	if err != nil || job.Kind != examgate.JobLTIScore || job.Key != "lti:attempt:5" || job.MaxAge != 0 {
		t.Fatalf("job %+v, %v", job, err)
	}
	var back examgate.LTIScoreJob
	if err := json.Unmarshal(job.Payload, &back); err != nil || back.UserID != "sub-12345" || *back.ScoreGiven != 17 || !back.Timestamp.Equal(rdT0) {
		t.Fatalf("payload %s: %v", job.Payload, err)
	}
	neg := -1.0
	for name, mut := range map[string]func(*examgate.LTIScoreJob){
		"no attempt":        func(p *examgate.LTIScoreJob) { p.AttemptID = 0 },
		"no issuer":         func(p *examgate.LTIScoreJob) { p.Issuer = " " },
		"no client":         func(p *examgate.LTIScoreJob) { p.ClientID = "" },
		"no line item":      func(p *examgate.LTIScoreJob) { p.LineItemURL = "" },
		"long line item":    func(p *examgate.LTIScoreJob) { p.LineItemURL = "https://x/" + strings.Repeat("a", 2048) },
		"no user":           func(p *examgate.LTIScoreJob) { p.UserID = "" },
		"bad activity":      func(p *examgate.LTIScoreJob) { p.ActivityProgress = "Done" },
		"bad grading":       func(p *examgate.LTIScoreJob) { p.GradingProgress = "Graded" },
		"negative score":    func(p *examgate.LTIScoreJob) { p.ScoreGiven = &neg },
		"score without max": func(p *examgate.LTIScoreJob) { p.ScoreMaximum = 0 },
		"no timestamp":      func(p *examgate.LTIScoreJob) { p.Timestamp = time.Time{} },
		"long comment":      func(p *examgate.LTIScoreJob) { p.Comment = strings.Repeat("c", 1001) },
	} {
		p := ok
		mut(&p)
		if _, err := examgate.NewLTIScoreJob(p); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Errorf("%s: %v, want INVALID", name, err)
		}
	}
}
