// Command perfratio measures how close examgate's hot paths come to the
// bare work they do. It builds examgate and cmd/perfref, starts both on one
// database (a fresh SQLite file, and a fresh schema in $TEST_DATABASE_URL's
// PostgreSQL database when that is set), runs the same closed-loop load
// against each path of each, interleaved (examgate, reference, reference,
// examgate, …), and prints the medians and their ratios: throughput, and
// CPU time of the server process per request. Then it runs a cohort of new
// learners against examgate alone (launch, dashboard, slot calendar, book)
// and prints how many it serves per minute.
//
//	go run ./cmd/perfratio                      # or: make perf-ratios
//	go run ./cmd/perfratio -db sqlite -rounds 1 -duration 3s
//
// Both servers run in the same machine as the load generator; the numbers
// are for comparing, in one run, examgate with the reference. Only loopback
// addresses are used.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop the schema

	"github.com/examgate/examgate/cmd/internal/loadgen"
	"github.com/examgate/examgate/graph"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "perfratio:", err)
		}
		os.Exit(1)
	}
}

type options struct {
	dbs            []string
	paths          []string
	rounds         int
	duration       time.Duration
	warmup         time.Duration
	cohort         bool
	cohortC        int
	cohortDuration time.Duration
	port, refPort  int
	keep           bool
	examgateBin    string
	examgateEnv    []string
	profile        bool
}

const (
	secret     = "demo-launch-secret" // the demo's TI launch secret
	saveExam   = loadgen.LoadExam     // on-demand, 180 minutes: saves and dashboards
	cohortExam = "COHORT-1"           // bookable around the clock: the cohort
	courseID   = "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"
	assignment = "6b2d4f8a-1c3e-4a5b-9d7f-0e2a4c6b8d1f"
)

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("perfratio", flag.ContinueOnError)
	dbs := fs.String("db", "sqlite,postgres", "databases to measure; postgres needs TEST_DATABASE_URL (a fresh schema is made and dropped)")
	paths := fs.String("paths", strings.Join(allPaths, ","), "paths to measure")
	o := &options{}
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of every path against each target; medians are printed")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time of one run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before each measured run, not counted")
	fs.BoolVar(&o.cohort, "cohort", true, "also measure the cohort of new learners")
	fs.IntVar(&o.cohortC, "cohort-c", 32, "learners arriving at once in the cohort")
	fs.DurationVar(&o.cohortDuration, "cohort-duration", 15*time.Second, "measured time of one cohort run")
	fs.IntVar(&o.port, "port", 18181, "examgate's port on 127.0.0.1")
	fs.IntVar(&o.refPort, "ref-port", 18282, "the reference's port on 127.0.0.1")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binaries, logs, SQLite file)")
	env := fs.String("examgate-env", "", "more environment for examgate alone, comma-separated KEY=VALUE (GOGC=400, say)")
	fs.BoolVar(&o.profile, "profile", false, "sample both servers with Linux perf during the measured runs and print where each one's CPU per request goes (perf adds a little to the CPU it measures)")
	fs.StringVar(&o.examgateBin, "examgate", "", "an examgate binary to measure instead of building ./cmd/examgate (an earlier commit, say)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.dbs, o.paths = strings.Split(*dbs, ","), strings.Split(*paths, ",")
	if *env != "" {
		o.examgateEnv = strings.Split(*env, ",")
	}
	for _, p := range o.paths {
		if pathByName(p) == nil {
			return fmt.Errorf("unknown path %q (known: %s)", p, strings.Join(allPaths, ", "))
		}
	}
	tmp, err := os.MkdirTemp("", "perfratio")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(out, "files in", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	names := []string{"examgate", "perfref"}
	if o.examgateBin != "" {
		names = names[1:]
		if err := os.Symlink(o.examgateBin, filepath.Join(tmp, "examgate")); err != nil {
			return err
		}
	}
	for _, name := range names {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(tmp, name), "./cmd/"+name)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/%s (run from the repository root): %w", name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "exams.yaml"), catalog(), 0o644); err != nil {
		return err
	}
	rev, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if o.examgateBin != "" {
		rev = []byte(o.examgateBin)
	}
	fmt.Fprintf(out, "perfratio: examgate %s, %d CPUs (%s), %s, %s, load average %s\n",
		strings.TrimSpace(string(rev)), runtime.NumCPU(), cpuModel(), runtime.Version(),
		time.Now().UTC().Format(time.RFC3339), loadgen.LoadAvg())
	if len(o.examgateEnv) > 0 {
		fmt.Fprintf(out, "examgate runs with %s\n", strings.Join(o.examgateEnv, " "))
	}
	fmt.Fprintf(out, "%d rounds of %s (after %s of warm-up) per path and target, interleaved; medians, range in brackets\n",
		o.rounds, o.duration, o.warmup)
	for _, d := range o.dbs {
		if err := measure(ctx, o, tmp, d, out); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	return nil
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// catalog has the on-demand exam of the saves (loadsave's LOAD-1) and a
// bookable exam for the cohort, open around the clock with 50 seats a slot.
func catalog() []byte {
	return loadgen.LoadCatalog(`  - code: ` + cohortExam + `
    title: Cohort Exam
    eligibilityDays: 90
    ti: {courseIds: ["` + courseID + `"], courseSlug: demo-course, assignmentId: "` + assignment + `"}
    availability:
      timeZone: Europe/Amsterdam
      slotMinutes: 30
      seats: 50
      leadTime: 0s
      weekly: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}
    policy: {checkInBefore: 30m, checkInAfter: 15m, cancelCutoff: 24h, rescheduleCutoff: 24h, maxReschedules: 3}
    delivery:
      durationMinutes: 20
      passMark: 50
      items:
        - {id: q1, type: single, stem: "Question", options: [{id: a, text: A}, {id: b, text: B}], correct: [b]}
`)
}

// proc is a server started by perfratio.
type proc struct {
	cmd    *exec.Cmd
	base   string
	exited chan struct{}
}

func start(ctx context.Context, bin string, args, env []string, port int, log string) (*proc, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, base: "http://127.0.0.1:" + strconv.Itoa(port), exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.exited) }()
	for try := 0; ; try++ {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if try > 150 || ctx.Err() != nil {
			p.stop()
			b, _ := os.ReadFile(log)
			return nil, fmt.Errorf("%s did not start: %s", filepath.Base(bin), b[max(0, len(b)-2000):])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

func (p *proc) cpu() time.Duration {
	d, _ := loadgen.ProcessCPU(p.cmd.Process.Pid)
	return d
}

// database prepares a fresh database and returns its URL and a cleanup.
func database(tmp, name string) (string, func(), error) {
	switch name {
	case "sqlite":
		return filepath.Join(tmp, "perf.db"), func() {}, nil
	case "postgres":
		base := os.Getenv("TEST_DATABASE_URL")
		if base == "" {
			return "", nil, errors.New("set TEST_DATABASE_URL to a PostgreSQL URL (a schema of its own is created and dropped), or give -db sqlite")
		}
		pg, err := sql.Open("pgx", base)
		if err != nil {
			return "", nil, err
		}
		schema := fmt.Sprintf("perfratio_%d_%d", time.Now().Unix(), os.Getpid())
		if _, err := pg.Exec("CREATE SCHEMA " + schema); err != nil {
			pg.Close()
			return "", nil, err
		}
		u, err := url.Parse(base)
		if err != nil {
			pg.Close()
			return "", nil, err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), func() {
			_, _ = pg.Exec("DROP SCHEMA " + schema + " CASCADE")
			pg.Close()
		}, nil
	}
	return "", nil, fmt.Errorf("unknown database %q (sqlite or postgres)", name)
}

// measure runs every path on one database, then the cohort.
func measure(ctx context.Context, o *options, tmp, dbName string, out io.Writer) error {
	dsn, drop, err := database(tmp, dbName)
	if err != nil {
		return err
	}
	defer drop()
	eg, err := start(ctx, filepath.Join(tmp, "examgate"), nil, append([]string{
		"EXAMGATE_DEMO=1", "EXAMGATE_EXAMS=" + filepath.Join(tmp, "exams.yaml"), "EXAMGATE_DATABASE_URL=" + dsn,
		"EXAMGATE_ADDR=127.0.0.1:" + strconv.Itoa(o.port),
		// The rate limiter runs as in production, with budgets no client of
		// the load reaches (the default, 20 requests/s a session, would
		// answer a back-to-back load with 429; what is measured is the path).
		"EXAMGATE_LEARNER_RATE_LIMIT=1000000", "EXAMGATE_LEARNER_RATE_BURST=100000",
	}, o.examgateEnv...), o.port, filepath.Join(tmp, "examgate-"+dbName+".log"))
	if err != nil {
		return err
	}
	defer eg.stop()
	rf, err := start(ctx, filepath.Join(tmp, "perfref"), []string{"-db", dsn, "-addr", "127.0.0.1:" + strconv.Itoa(o.refPort)},
		nil, o.refPort, filepath.Join(tmp, "perfref-"+dbName+".log"))
	if err != nil {
		return err
	}
	defer rf.stop()

	w := newWorld(eg.base, rf.base)
	defer w.transport.CloseIdleConnections()
	need := 0
	for _, name := range o.paths {
		need = max(need, pathByName(name).c)
	}
	if err := w.setup(ctx, need); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n## %s\n\n", dbName)
	targets := []*proc{eg, rf}
	res := map[string][2][]runResult{}
	var prof *profiler
	if o.profile {
		if prof, err = newProfiler(tmp); err != nil {
			return err
		}
	}
	for round := range o.rounds {
		for _, name := range o.paths {
			p := pathByName(name)
			order := []int{0, 1}
			if round%2 == 1 {
				order = []int{1, 0}
			}
			for _, t := range order {
				r, err := load(ctx, p.c, o.warmup, o.duration, targets[t], func(ctx context.Context, i int) error {
					return p.do[t](ctx, w, i)
				}, prof, name+" "+[]string{"examgate", "reference"}[t])
				if err != nil {
					return err
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if r.errs > 0 {
					fmt.Fprintf(out, "   %s %s round %d: %d errors, e.g. %s\n", name, []string{"examgate", "reference"}[t], round+1, r.errs, r.firstErr)
				}
				rs := res[name]
				rs[t] = append(rs[t], r)
				res[name] = rs
			}
		}
	}
	fmt.Fprintln(out, "| path | clients | examgate req/s | reference req/s | ratio | examgate CPU/req | reference CPU/req | ratio |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|")
	for _, name := range o.paths {
		p := pathByName(name)
		e, r := res[name][0], res[name][1]
		et, rt := stat(e, runResult.rate), stat(r, runResult.rate)
		ec, rc := stat(e, runResult.cpuPerReq), stat(r, runResult.cpuPerReq)
		fmt.Fprintf(out, "| %s | %d | %s | %s | %.2f | %s µs | %s µs | %.2f |\n", p.label, p.c,
			et, rt, et.median/rt.median, ec, rc, rc.median/ec.median)
	}
	fmt.Fprintln(out, "\nCPU/req is the server process's user+system time over the measured part, per request (PostgreSQL's own processes not included).")
	if prof != nil {
		cpu := map[string][2]float64{}
		for _, name := range o.paths {
			cpu[name] = [2]float64{stat(res[name][0], runResult.cpuPerReq).median, stat(res[name][1], runResult.cpuPerReq).median}
		}
		prof.table(out, o.paths, cpu)
	}
	if o.cohort {
		return cohort(ctx, o, w, eg, out)
	}
	return nil
}

// runResult is one measured run of a path against one target.
type runResult struct {
	n, errs  int
	elapsed  time.Duration
	cpu      time.Duration
	firstErr string
	lats     []time.Duration
}

func (r runResult) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }
func (r runResult) cpuPerReq() float64 {
	return float64(r.cpu.Microseconds()) / float64(max(1, r.n+r.errs))
}

type summary struct{ median, lo, hi float64 }

func stat(rs []runResult, f func(runResult) float64) summary {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return summary{}
	}
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return summary{m, v[0], v[len(v)-1]}
}

func (s summary) String() string {
	if s.lo == s.hi {
		return fmtNum(s.median)
	}
	return fmt.Sprintf("%s (%s–%s)", fmtNum(s.median), fmtNum(s.lo), fmtNum(s.hi))
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) }

// load runs c clients back to back: warm-up first, then the measured part,
// with the CPU time of target's process taken around it (and, when prof is
// not nil, its perf samples, counted under key).
func load(ctx context.Context, c int, warmup, duration time.Duration, target *proc, do func(context.Context, int) error, prof *profiler, key string) (runResult, error) {
	phase := func(d time.Duration) runResult {
		var mu sync.Mutex
		var r runResult
		stopAt := time.Now().Add(d)
		var wg sync.WaitGroup
		for i := range c {
			wg.Go(func() {
				var lats []time.Duration
				n, errs, first := 0, 0, ""
				for ctx.Err() == nil && time.Now().Before(stopAt) {
					t := time.Now()
					if err := do(ctx, i); err != nil {
						errs++
						if first == "" {
							first = err.Error()
						}
						continue
					}
					n++
					lats = append(lats, time.Since(t))
				}
				mu.Lock()
				r.n, r.errs, r.lats = r.n+n, r.errs+errs, append(r.lats, lats...)
				if r.firstErr == "" {
					r.firstErr = first
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		return r
	}
	phase(warmup)
	var r runResult
	measured := func() {
		cpu0, t0 := target.cpu(), time.Now()
		r = phase(duration)
		r.elapsed, r.cpu = time.Since(t0), target.cpu()-cpu0
	}
	if prof == nil {
		measured()
		return r, nil
	}
	err := prof.around(ctx, key, target.cmd.Process.Pid, measured)
	return r, err
}

// world is what the load knows about the two servers: the candidates made
// during setup and the HTTP client.
type world struct {
	examgate, ref string
	transport     *http.Transport
	client        *http.Client
	sessions      []*learner // signed in, with an open attempt of LOAD-1
	launchers     []*learner // launch again and again (each launch ends the learner's earlier session)
	seq           atomic.Int64
	runID         string
}

type learner struct {
	id, email, externalID string
	cookie                string
	attemptID             string
	seq                   int64
}

func newWorld(examgate, ref string) *world {
	t := loadgen.Transport(256, 90*time.Second)
	return &world{examgate: examgate, ref: ref, transport: t, client: loadgen.Client(t, nil, 30*time.Second),
		runID: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// setup launches n learners who then start LOAD-1, and n more who only launch.
func (w *world) setup(ctx context.Context, n int) error {
	for i := range n {
		l, err := w.newLearner(ctx, fmt.Sprintf("s%d", i), saveExam)
		if err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		var started struct {
			StartOnDemand struct{ ID string } `json:"startOnDemand"`
		}
		if err := w.graphql(ctx, l.cookie, startMutation, map[string]any{"input": map[string]string{
			"examCode": saveExam, "clientKey": "start-" + l.id}}, &started); err != nil {
			return fmt.Errorf("setup: startOnDemand: %w", err)
		}
		l.attemptID = started.StartOnDemand.ID
		w.sessions = append(w.sessions, l)
		if l, err = w.newLearner(ctx, fmt.Sprintf("l%d", i), saveExam); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		w.launchers = append(w.launchers, l)
	}
	return nil
}

// newLearner signs a learner in through the demo form, as loadsave does: the
// form puts the learner and their purchase in the TI simulator and answers
// with a launch link.
func (w *world) newLearner(ctx context.Context, tag, exam string) (*learner, error) {
	l := &learner{id: w.runID + "-" + tag}
	l.email, l.externalID = "perf-"+l.id+"@example.com", "perf-"+l.id
	form := url.Values{
		"firstName": {"Perf"}, "lastName": {"Learner " + l.id}, "email": {l.email}, "externalId": {l.externalID},
		"exam": {exam}, "purchasedOn": {time.Now().UTC().AddDate(0, 0, -10).Format(time.DateOnly)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.examgate+"/demo/launch", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := loadgen.Do(w.client, req)
	if err != nil {
		return nil, err
	}
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/launch/ti?") {
		return nil, fmt.Errorf("demo form: HTTP %d to %q", resp.StatusCode, loc)
	}
	cookie, err := w.follow(ctx, w.examgate+loc, "/exams/"+exam)
	l.cookie = cookie
	return l, err
}

// follow GETs a launch link and returns the session cookie it set.
func (w *world) follow(ctx context.Context, link, want string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return "", err
	}
	resp, err := loadgen.Do(w.client, req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusSeeOther || (want != "" && resp.Header.Get("Location") != want) {
		return "", fmt.Errorf("launch: HTTP %d to %q (request id %s)", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("X-Request-Id"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == "examgate_session" {
			return c.Value, nil
		}
	}
	return "", errors.New("launch: no session cookie")
}

// token signs a launch token for l as TI does, with a jti so that tokens of
// the same second differ (a token works once).
func (w *world) token(l *learner) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	t, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iat": time.Now().Unix(), "jti": hex.EncodeToString(b), "email": l.email, "firstName": "Perf",
		"lastName": "Learner " + l.id, "externalCustomerId": l.externalID, "courseId": courseID, "assignmentId": assignment,
	}).SignedString([]byte(secret))
	if err != nil {
		panic(err)
	}
	return t
}

// post sends a JSON body with the session cookie and decodes the answer.
func (w *world) post(ctx context.Context, u, cookie string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json") // as the web app does
	if cookie != "" {
		req.Header.Set("Cookie", "examgate_session="+cookie)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return loadgen.Unwrap(err)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

// graphql posts an operation to examgate and decodes its data into out.
func (w *world) graphql(ctx context.Context, cookie, query string, vars map[string]any, out any) error {
	var res loadgen.GraphQLAnswer
	if err := w.post(ctx, w.examgate+"/graphql", cookie, map[string]any{"query": query, "variables": vars}, &res); err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("GraphQL %s: %s", res.Errors[0].Extensions.Code, res.Errors[0].Message)
	}
	return json.Unmarshal(res.Data, out)
}

// The operations, word for word as the web app sends them.
const (
	startMutation = `mutation LoadStart($input: StartOnDemandInput!) { startOnDemand(input: $input) { id status } }`
	bookingFields = `
  fragment BookingFields on Booking {
    id
    status
    startsAt
    endsAt
    timeZone
    checkInOpensAt
    checkInClosesAt
    reschedulesLeft
    canStart { allowed code reason }
    canCancel { allowed code reason }
    canReschedule { allowed code reason }
    calendarUrl
    attemptId
    updatedAt
  }
`
	// dashboardQuery is the web app's dashboard as the browser sends it.
	dashboardQuery = graph.DashboardDocument
	slotsQuery     = `
  query AvailableSlots($code: String!, $from: Time!, $to: Time!) {
    availableSlots(examCode: $code, from: $from, to: $to) { startsAt endsAt seatsLeft }
  }
`
	bookMutation = `
  mutation BookSlot($input: BookSlotInput!) {
    bookSlot(input: $input) { ...BookingFields }
  }
` + bookingFields
)

// path is one measured request, as examgate serves it and as the reference does.
type path struct {
	name, label string
	c           int
	do          [2]func(ctx context.Context, w *world, i int) error
}

var allPaths = []string{"save", "launch8", "launch64", "dashboard", "typename"}

func pathByName(name string) *path {
	for i := range paths {
		if paths[i].name == name {
			return &paths[i]
		}
	}
	return nil
}

type saveInput struct {
	AttemptID string   `json:"attemptId"`
	ItemID    string   `json:"itemId"`
	Choices   []string `json:"choices"`
	ClientSeq int64    `json:"clientSeq"`
}

type saved struct {
	ItemID    string `json:"itemId"`
	ClientSeq int64  `json:"clientSeq"`
	Accepted  bool   `json:"accepted"`
}

func (w *world) nextSave(i int) (*learner, saveInput) {
	l := w.sessions[i]
	l.seq++ // one client per learner: no lock needed
	return l, saveInput{AttemptID: l.attemptID, ItemID: fmt.Sprintf("q%d", 1+l.seq%20), Choices: []string{"abcd"[l.seq%4 : l.seq%4+1]}, ClientSeq: l.seq}
}

func checkSaved(s saved, in saveInput) error {
	if !s.Accepted || s.ItemID != in.ItemID || s.ClientSeq != in.ClientSeq {
		return fmt.Errorf("save not accepted: %+v", s)
	}
	return nil
}

func launchTarget(base, exam string) func(ctx context.Context, w *world, i int) error {
	return func(ctx context.Context, w *world, i int) error {
		l := w.launchers[i]
		link := base + "/launch?jwt=" + url.QueryEscape(w.token(l))
		want := ""
		if exam != "" {
			link = base + "/launch/ti?exam_id=" + exam + "&jwt=" + url.QueryEscape(w.token(l))
			want = "/exams/" + exam
		}
		_, err := w.follow(ctx, link, want)
		return err
	}
}

func launchPath(c int) path {
	return path{name: "launch" + strconv.Itoa(c), label: "TI launch, returning learner", c: c, do: [2]func(context.Context, *world, int) error{
		func(ctx context.Context, w *world, i int) error { return launchTarget(w.examgate, saveExam)(ctx, w, i) },
		func(ctx context.Context, w *world, i int) error { return launchTarget(w.ref, "")(ctx, w, i) },
	}}
}

var paths = []path{
	{name: "save", label: "autosave", c: 64, do: [2]func(context.Context, *world, int) error{
		func(ctx context.Context, w *world, i int) error {
			l, in := w.nextSave(i)
			var out struct {
				SaveAnswer saved `json:"saveAnswer"`
			}
			if err := w.graphql(ctx, l.cookie, loadgen.SaveMutation, map[string]any{"input": in}, &out); err != nil {
				return err
			}
			return checkSaved(out.SaveAnswer, in)
		},
		func(ctx context.Context, w *world, i int) error {
			l, in := w.nextSave(i)
			var out saved
			if err := w.post(ctx, w.ref+"/save", l.cookie, in, &out); err != nil {
				return err
			}
			return checkSaved(out, in)
		},
	}},
	launchPath(8),
	launchPath(64),
	{name: "dashboard", label: "learner dashboard", c: 16, do: [2]func(context.Context, *world, int) error{
		func(ctx context.Context, w *world, i int) error {
			var out struct {
				Me *struct{ ID string } `json:"me"`
			}
			if err := w.graphql(ctx, w.sessions[i].cookie, dashboardQuery, map[string]any{"code": saveExam}, &out); err != nil {
				return err
			}
			if out.Me == nil {
				return errors.New("dashboard: me is null")
			}
			return nil
		},
		func(ctx context.Context, w *world, i int) error {
			var out struct {
				Data struct{ Me *struct{ ID string } } `json:"data"`
			}
			if err := w.post(ctx, w.ref+"/dashboard", w.sessions[i].cookie, map[string]string{"code": saveExam}, &out); err != nil {
				return err
			}
			if out.Data.Me == nil {
				return errors.New("dashboard: no me")
			}
			return nil
		},
	}},
	{name: "typename", label: "`{ __typename }` / bare JSON handler", c: 16, do: [2]func(context.Context, *world, int) error{
		func(ctx context.Context, w *world, _ int) error {
			var out struct {
				Typename string `json:"__typename"`
			}
			if err := w.graphql(ctx, "", "{ __typename }", nil, &out); err != nil {
				return err
			}
			if out.Typename != "Query" {
				return fmt.Errorf("__typename %q", out.Typename)
			}
			return nil
		},
		func(ctx context.Context, w *world, _ int) error {
			var out struct {
				Data struct {
					Typename string `json:"__typename"`
				} `json:"data"`
			}
			if err := w.post(ctx, w.ref+"/hello", "", map[string]string{"query": "{ __typename }"}, &out); err != nil {
				return err
			}
			if out.Data.Typename != "Query" {
				return fmt.Errorf("__typename %q", out.Data.Typename)
			}
			return nil
		},
	}},
}

// cohort runs new learners against examgate, o.cohortC at a time, each as a
// learner arriving from TI: the launch (through the demo form, the TI
// stand-in), the dashboard, the slot calendar of the coming week, and a
// booking of a random open slot in it.
func cohort(ctx context.Context, o *options, w *world, eg *proc, out io.Writer) error {
	var n atomic.Int64
	var rs []runResult
	for round := range o.rounds {
		r, err := load(ctx, o.cohortC, o.warmup, o.cohortDuration, eg, func(ctx context.Context, _ int) error {
			return w.arrive(ctx, fmt.Sprintf("c%d-%d", round, n.Add(1)))
		}, nil, "")
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.errs > 0 {
			fmt.Fprintf(out, "   cohort round %d: %d errors, e.g. %s\n", round+1, r.errs, r.firstErr)
		}
		rs = append(rs, r)
	}
	perMin := stat(rs, func(r runResult) float64 { return r.rate() * 60 })
	cpu := stat(rs, func(r runResult) float64 { return float64(r.cpu.Microseconds()) / 1000 / float64(max(1, r.n)) })
	p99 := stat(rs, func(r runResult) float64 {
		slices.Sort(r.lats)
		return float64(loadgen.Percentile(r.lats, 99).Milliseconds())
	})
	fmt.Fprintf(out, "\ncohort (launch + dashboard + week of slots + book), %d learners at once, %d runs of %s:\n", o.cohortC, o.rounds, o.cohortDuration)
	fmt.Fprintf(out, "  learners per minute %s, examgate CPU per learner %s ms, p99 of one learner's four steps %s ms\n",
		perMin, cpu, p99)
	return nil
}

func (w *world) arrive(ctx context.Context, tag string) error {
	l, err := w.newLearner(ctx, tag, cohortExam)
	if err != nil {
		return err
	}
	var dash struct {
		Me *struct{ ID string } `json:"me"`
	}
	if err := w.graphql(ctx, l.cookie, dashboardQuery, map[string]any{"code": cohortExam}, &dash); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	from := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	var slots struct {
		AvailableSlots []struct {
			StartsAt  string `json:"startsAt"`
			SeatsLeft int    `json:"seatsLeft"`
		} `json:"availableSlots"`
	}
	if err := w.graphql(ctx, l.cookie, slotsQuery, map[string]any{"code": cohortExam,
		"from": from.Format(time.RFC3339), "to": from.AddDate(0, 0, 7).Format(time.RFC3339)}, &slots); err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	open := slots.AvailableSlots[:0]
	for _, s := range slots.AvailableSlots {
		if s.SeatsLeft > 0 {
			open = append(open, s)
		}
	}
	var err2 error
	for try := range 3 {
		if len(open) == 0 {
			return errors.New("no open slot in the week")
		}
		k := int(w.seq.Add(1)) % len(open)
		var booked struct {
			BookSlot struct{ ID string } `json:"bookSlot"`
		}
		err2 = w.graphql(ctx, l.cookie, bookMutation, map[string]any{"input": map[string]string{
			"examCode": cohortExam, "startsAt": open[k].StartsAt, "clientKey": fmt.Sprintf("book-%s-%d", l.id, try)}}, &booked)
		if err2 == nil {
			return nil
		}
		open = slices.Delete(open, k, k+1) // full meanwhile: another one
	}
	return fmt.Errorf("book: %w", err2)
}
