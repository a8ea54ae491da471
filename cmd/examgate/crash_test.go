package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/tiapi/titest"
)

const (
	crashKey        = "crash-ti-api-key"
	crashSecret     = "crash-launch-secret"
	crashExam       = "CRASH-QUICK"
	crashCourse     = "course-crash"
	crashAssignment = "7c3e5a9b-2d4f-4b6a-8e1c-3f5a7b9d1e2c"
	crashEmail      = "ada@example.com"
)

const crashCatalog = `exams:
  - code: CRASH-QUICK
    title: Crash Quiz
    eligibilityDays: 30
    ti:
      courseIds: ["course-crash"]
      courseSlug: crash-course
      assignmentId: "7c3e5a9b-2d4f-4b6a-8e1c-3f5a7b9d1e2c"
    delivery:
      onDemand: true
      durationMinutes: 10
      passMark: 50
      items:
        - {id: q1, type: truefalse, stem: "A result survives a crash.", correct: ["true"]}
`

// TestCrashDuringResultPost kills the real binary while TI holds its result
// post open, restarts it on the same database and checks that the result
// reaches TI, with the same body every time, and that the job ends done.
func TestCrashDuringResultPost(t *testing.T) {
	bin := crashBuild(t)
	t.Run("sqlite", func(t *testing.T) {
		crashRun(t, bin, filepath.Join(t.TempDir(), "examgate.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		crashRun(t, bin, dbtest.PostgresURL(t))
	})
}

// crashBuild compiles this command once for the test.
func crashBuild(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build examgate: %v", err)
	}
	out := filepath.Join(t.TempDir(), "examgate")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, goBin, "build", "-o", out, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// crashBuffer collects a process's output.
type crashBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *crashBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *crashBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// crashProc is one running examgate process.
type crashProc struct {
	cmd    *exec.Cmd
	base   string
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// crashEnv is the environment without any EXAMGATE_ setting of the caller's,
// plus extra.
func crashEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EXAMGATE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func crashFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// crashStart starts the server and waits until /healthz answers 200.
func crashStart(t *testing.T, bin, name string, env []string) *crashProc {
	t.Helper()
	addr := crashFreeAddr(t)
	p := &crashProc{base: "http://" + addr, exited: make(chan struct{})}
	out := &crashBuffer{}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = crashEnv(append(env, "EXAMGATE_ADDR="+addr, "EXAMGATE_BASE_URL="+p.base)...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				t.Errorf("%s process did not exit after SIGKILL", name)
			}
		}
		if t.Failed() {
			t.Logf("output of the %s examgate process:\n%s", name, out.String())
		}
	})

	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := hc.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s process not healthy after 30s", name)
		}
		select {
		case <-p.exited:
			t.Fatalf("%s process exited before it was healthy: %v", name, p.err)
		case <-tick.C:
		}
	}
}

// crashWait waits for the process to exit, at most d.
func crashWait(t *testing.T, p *crashProc, d time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		t.Fatalf("process did not exit within %v", d)
		return nil
	}
}

func crashGraphQL(t *testing.T, c *http.Client, base, query string) map[string]json.RawMessage {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []json.RawMessage          `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("graphql: status %d: %v", resp.StatusCode, err)
	}
	if len(out.Errors) > 0 {
		t.Fatalf("graphql %s: errors %s", query, out.Errors)
	}
	return out.Data
}

// crashPoll calls done every 50ms until it reports true, for at most d.
func crashPoll(t *testing.T, d time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		<-tick.C
	}
}

func crashRun(t *testing.T, bin, dsn string) {
	dir := t.TempDir()
	catalog := filepath.Join(dir, "exams.yaml")
	if err := os.WriteFile(catalog, []byte(crashCatalog), 0o600); err != nil {
		t.Fatal(err)
	}

	fake := titest.New(crashKey)
	tiSrv := httptest.NewServer(fake)
	t.Cleanup(tiSrv.Close)
	user := fake.AddUser(titest.User{Email: crashEmail, ExternalCustomerID: "cust-crash", FirstName: "Ada", LastName: "Lovelace"})
	fake.AddPurchase(titest.Purchase{UserID: user.ID, CourseID: crashCourse, Slug: "crash-course", Time: time.Now().Add(-time.Hour)})

	env := []string{
		"EXAMGATE_TI_BASE_URL=" + tiSrv.URL,
		"EXAMGATE_TI_API_KEY=" + crashKey,
		"EXAMGATE_TI_SECRETS=" + crashSecret,
		"EXAMGATE_EXAMS=" + catalog,
		"EXAMGATE_DATABASE_URL=" + dsn,
		"EXAMGATE_JOB_LEASE=2s",
	}
	first := crashStart(t, bin, "first", env)

	// The learner arrives from TI with a signed link and takes the quiz.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tok, err := titest.SignLaunch(crashSecret, titest.LaunchToken{
		Email: crashEmail, FirstName: "Ada", LastName: "Lovelace", ExternalCustomerID: "cust-crash", CourseID: crashCourse,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser.Get(titest.LaunchURL(first.base, crashExam, tok))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("launch answered %d", resp.StatusCode)
	}
	var attempt struct{ ID string }
	if err := json.Unmarshal(crashGraphQL(t, browser, first.base,
		`mutation { startOnDemand(input: {examCode: "CRASH-QUICK", clientKey: "crash-start-1"}) { id } }`)["startOnDemand"], &attempt); err != nil || attempt.ID == "" {
		t.Fatalf("start: %+v %v", attempt, err)
	}
	saved := crashGraphQL(t, browser, first.base, fmt.Sprintf(
		`mutation { saveAnswer(input: {attemptId: %q, itemId: "q1", choices: ["true"], clientSeq: 1}) { accepted } }`, attempt.ID))
	if string(saved["saveAnswer"]) != `{"accepted":true}` {
		t.Fatalf("save: %s", saved["saveAnswer"])
	}

	// TI holds the result post open; the process dies while waiting for it.
	release := fake.Hold()
	t.Cleanup(release)
	submitted := crashGraphQL(t, browser, first.base, fmt.Sprintf(
		`mutation { submitAttempt(input: {attemptId: %q}) { status result { percent passed } } }`, attempt.ID))
	if got := string(submitted["submitAttempt"]); got != `{"status":"SUBMITTED","result":{"percent":100,"passed":true}}` {
		t.Fatalf("submit: %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fake.WaitHeld(ctx, 1); err != nil {
		t.Fatalf("the result post never reached TI: %v", err)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := crashWait(t, first, 10*time.Second); err == nil {
		t.Fatal("the killed process exited cleanly")
	}

	// The database shows the delivery cut off mid-flight.
	store, err := db.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	jobs := func() []examgate.QueuedJob {
		t.Helper()
		list, err := store.Jobs(context.Background(), examgate.JobFilter{Kinds: []string{examgate.JobTIResult, examgate.JobTIReset}})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	if list := jobs(); len(list) != 1 || list[0].Kind != examgate.JobTIResult || list[0].State != examgate.JobRunning || list[0].Attempts != 1 {
		t.Fatalf("jobs after the crash = %+v", list)
	}
	release()

	second := crashStart(t, bin, "second", env)
	succeeded := func() int {
		n := 0
		for _, p := range fake.ResultPosts() {
			if p.Status == http.StatusFound {
				n++
			}
		}
		return n
	}
	crashPoll(t, 30*time.Second, "TI accepted the result after the restart", func() bool { return succeeded() > 0 })
	crashPoll(t, 30*time.Second, "the delivery job is done", func() bool {
		list := jobs()
		return len(list) == 1 && list[0].State == examgate.JobDone
	})

	want := fmt.Sprintf(`{"status":"completed","assignmentId":%q,"learnerId":%q,"grade":100,"gradeFeedback":"Great Job!"}`, crashAssignment, user.ID)
	posts := fake.ResultPosts()
	var statuses []int
	for _, p := range posts {
		statuses = append(statuses, p.Status)
		if string(p.Body) != want {
			t.Errorf("posted %s\nwant   %s", p.Body, want)
		}
	}
	// The held post was dropped when its client died (499), or, if the hold
	// was released before TI noticed, accepted; either way the restarted
	// process posts the same final grade, which TI takes as one outcome.
	if len(posts) < 2 || (posts[0].Status != titest.StatusClientGone && posts[0].Status != http.StatusFound) || posts[len(posts)-1].Status != http.StatusFound {
		t.Errorf("result post statuses = %v", statuses)
	}
	t.Logf("result post statuses: %v (%d accepted)", statuses, succeeded())
	if resets := fake.Resets(); len(resets) != 0 {
		t.Errorf("a passed exam reset the course: %+v", resets)
	}
	if list := jobs(); list[0].Attempts != 2 || list[0].DoneAt == nil {
		t.Errorf("job = %+v, want done on its second attempt", list[0])
	}

	// The operator's view agrees.
	lctx, lcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer lcancel()
	list := exec.CommandContext(lctx, bin, "deliveries", "list", "--db", dsn)
	list.Env = crashEnv()
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("deliveries list: %v\n%s", err, out)
	}
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[1] == examgate.JobTIResult && f[2] == examgate.JobDone && f[3] == "2" {
			found = true
		}
	}
	if !found {
		t.Errorf("deliveries list does not show the result done after 2 attempts:\n%s", out)
	}

	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := crashWait(t, second, 30*time.Second); err != nil {
		t.Errorf("the restarted process did not shut down cleanly: %v", err)
	}
}
