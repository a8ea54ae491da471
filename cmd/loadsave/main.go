// Command loadsave drives the answer autosave of a running examgate in demo
// mode, as a cohort of candidates sitting an exam at once, and reports how
// fast it answers.
//
//	loadsave -write-catalog /tmp/load-exams.yaml
//	EXAMGATE_DEMO=1 EXAMGATE_EXAMS=/tmp/load-exams.yaml EXAMGATE_ADDR=127.0.0.1:8080 examgate &
//	loadsave -base http://127.0.0.1:8080 -candidates 200 -interval 2s -duration 60s
//
// Setup, not measured: each candidate is launched as a learner's browser is
// in the demo (POST /demo/launch, which creates the learner and purchase in
// the built-in TI simulator and answers 303 with a signed launch link, then
// GET of that link with a cookie jar of the candidate's own, which signs
// them in), then starts the on-demand exam with the GraphQL mutation
// startOnDemand and reads its items. The demo's on-demand exam DEMO-QUICK
// lasts one minute; -write-catalog writes a catalog with LOAD-1, an
// on-demand exam of 180 minutes the demo form can launch.
//
// Load: each candidate sends the browser's saveAnswer mutation for a random
// item and option, with its own increasing clientSeq and one save in flight
// at a time (as the player's save queue does), every -interval with ±20 %
// jitter, the first one at a random point of the first interval. With
// -interval 0 each candidate saves again as soon as the previous save is
// answered, which finds the ceiling; -max caps the saves per second of all
// candidates together. A save counts as a success when it is answered 200
// with accepted: true.
//
// The run stops starting saves after -duration (saves in flight are awaited)
// and talks only to loopback addresses: it creates real rows in the
// target's database and must not be pointed at a shared deployment.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/examgate/examgate/cmd/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadsave:", err)
		}
		os.Exit(2)
	}
}

type options struct {
	base         *url.URL
	secret       string
	exam         string
	candidates   int
	interval     time.Duration
	duration     time.Duration
	max          float64
	timeout      time.Duration
	setupC       int
	serverPID    int
	writeCatalog string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadsave", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "http://127.0.0.1:8080", "examgate base URL; loopback only")
	o := &options{}
	fs.StringVar(&o.secret, "secret", "demo-launch-secret", "TI launch secret of the target (the demo's default; the demo form signs with it)")
	fs.StringVar(&o.exam, "exam", loadExam, "on-demand exam code to sit (LOAD-1 is in the catalog -write-catalog writes)")
	fs.IntVar(&o.candidates, "candidates", 200, "candidates sitting the exam at once")
	fs.DurationVar(&o.interval, "interval", 2*time.Second, "time between two saves of one candidate (±20 % jitter); 0 saves back-to-back")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long to send saves (setup not included)")
	fs.Float64Var(&o.max, "max", 0, "cap on the saves per second of all candidates together; 0 is no cap (paced by -interval only)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.IntVar(&o.setupC, "setup-c", 8, "candidates launched at once during setup")
	fs.IntVar(&o.serverPID, "server-pid", 0, "process id of the examgate server, to report its CPU time per save (Linux; 0 to skip)")
	fs.StringVar(&o.writeCatalog, "write-catalog", "", "write a demo catalog with the on-demand exam "+loadExam+" (180 minutes) to this file for EXAMGATE_EXAMS, and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.writeCatalog != "" {
		return o, nil
	}
	if o.candidates < 1 || o.duration <= 0 || o.timeout <= 0 || o.setupC < 1 {
		return nil, errors.New("-candidates, -duration, -timeout and -setup-c must be positive")
	}
	if o.interval < 0 || o.max < 0 {
		return nil, errors.New("-interval and -max must not be negative")
	}
	u, err := loadgen.CheckBase(*base)
	if err != nil {
		return nil, err
	}
	o.base = u
	return o, nil
}

const (
	loadExam  = loadgen.LoadExam
	loadItems = loadgen.LoadItems
)

// loadCatalog is a demo catalog with the on-demand exam LOAD-1.
func loadCatalog() []byte { return loadgen.LoadCatalog("") }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.writeCatalog != "" {
		if err := os.WriteFile(o.writeCatalog, loadCatalog(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s with the on-demand exam %s (180 minutes, %d items); start examgate with\n"+
			"  EXAMGATE_DEMO=1 EXAMGATE_EXAMS=%s examgate\n", o.writeCatalog, loadExam, loadItems, o.writeCatalog)
		return nil
	}
	transport := loadgen.Transport(o.candidates, 90*time.Second)
	defer transport.CloseIdleConnections()
	plain := loadgen.Client(transport, nil, o.timeout)
	if err := checkDemo(ctx, plain, o); err != nil {
		return err
	}

	// Candidates of this run get a prefix of their own, so that reruns against
	// the same database create new candidates with new attempts.
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	cands := make([]*candidate, o.candidates)
	t0 := time.Now()
	if err := setup(ctx, transport, o, runID, cands); err != nil {
		return err
	}
	setupTime := time.Since(t0)

	var lim *limiter
	if o.max > 0 {
		lim = &limiter{every: time.Duration(float64(time.Second) / o.max)}
	}
	load0 := loadgen.LoadAvg()
	cpu0, cpuErr := serverCPU(o)
	stopAt := time.Now().Add(o.duration)
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.loop(ctx, o, lim, start, stopAt)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, err := serverCPU(o)
	cpuErr = errors.Join(cpuErr, err)
	m := machine{loadBefore: load0, loadAfter: loadgen.LoadAvg(), serverCPU: cpu1 - cpu0, cpuErr: cpuErr}
	var results []result
	late := 0
	for _, c := range cands {
		results = append(results, c.results...)
		late += c.late
	}
	// A save cut short by ^C is not the server's error.
	results = slices.DeleteFunc(results, func(r result) bool { return r.cancelled })
	report(stdout, o, setupTime, results, late, elapsed, ctx.Err() != nil, m)
	return nil
}

// machine is the state of the machine around the measured part of a run.
type machine struct {
	loadBefore, loadAfter string
	serverCPU             time.Duration
	cpuErr                error
}

func serverCPU(o *options) (time.Duration, error) {
	if o.serverPID == 0 {
		return 0, nil
	}
	return loadgen.ProcessCPU(o.serverPID)
}

// checkDemo makes sure, before any load is sent, that the target runs in
// demo mode (only then is /demo served) and that its catalog has -exam.
func checkDemo(ctx context.Context, client *http.Client, o *options) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.base.JoinPath("/demo").String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("examgate at %s does not answer: %w", o.base, loadgen.Unwrap(err))
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(`action="/demo/launch"`)) {
		return fmt.Errorf("%s has no demo launch form at /demo (HTTP %d): start examgate with EXAMGATE_DEMO=1", o.base, resp.StatusCode)
	}
	if !bytes.Contains(page, []byte(`<option value="`+html.EscapeString(o.exam)+`">`)) {
		return fmt.Errorf("the catalog of %s has no exam %q: write one with -write-catalog FILE and start examgate with EXAMGATE_EXAMS=FILE", o.base, o.exam)
	}
	return nil
}

// candidate is one learner's browser: a cookie jar of its own, its attempt
// and its items, and the results of its saves.
type candidate struct {
	id        string
	client    *http.Client
	attemptID string
	items     []item
	seq       int64
	results   []result
	late      int // paced saves sent more than one interval after their time
}

type item struct {
	ID      string
	Type    string
	Options []struct{ ID string }
}

// result is the outcome of one save.
type result struct {
	latency   time.Duration
	key       string // empty on success, else the error class
	detail    string
	reqID     string
	cancelled bool
}

// setup launches every candidate and starts its attempt, -setup-c at a time.
// Any failure ends the run: a load without all its candidates is not the
// scenario asked for.
func setup(ctx context.Context, transport http.RoundTripper, o *options, runID string, cands []*candidate) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(o.setupC, len(cands)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(cands)) {
					return
				}
				jar, _ := cookiejar.New(nil)
				c := &candidate{id: fmt.Sprintf("%s-%d", runID, i), client: loadgen.Client(transport, jar, o.timeout)}
				if err := c.start(ctx, o); err != nil {
					once.Do(func() { first = fmt.Errorf("setup of candidate %d: %w", i, err); cancel() })
					return
				}
				cands[i] = c
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// start is the candidate's launch through the demo form and the start of its
// attempt.
func (c *candidate) start(ctx context.Context, o *options) error {
	form := url.Values{
		"firstName":   {"Load"},
		"lastName":    {"Candidate " + c.id},
		"email":       {"save-" + c.id + "@example.com"},
		"externalId":  {"save-" + c.id},
		"exam":        {o.exam},
		"purchasedOn": {time.Now().UTC().AddDate(0, 0, -10).Format(time.DateOnly)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base.JoinPath("/demo/launch").String(), strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := loadgen.Do(c.client, req)
	if err != nil {
		return err
	}
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil || loc.Path != "/launch/ti" {
		return fmt.Errorf("demo form: want 303 to /launch/ti, got %d (request id %s)", resp.StatusCode, loadgen.OrDash(resp.Header.Get("X-Request-Id")))
	}
	if err := checkToken(loc.Query().Get("jwt"), o.secret); err != nil {
		return err
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return err
	}
	resp, err = loadgen.Do(c.client, req)
	if err != nil {
		return err
	}
	if want := "/exams/" + url.PathEscape(o.exam); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		return fmt.Errorf("launch: want 303 to %s, got %d to %q (request id %s)", want, resp.StatusCode,
			resp.Header.Get("Location"), loadgen.OrDash(resp.Header.Get("X-Request-Id")))
	}

	var started struct {
		StartOnDemand struct {
			ID       string
			Sections []struct{ Items []item }
		} `json:"startOnDemand"`
	}
	_, r := c.graphql(ctx, o, `mutation LoadStart($input: StartOnDemandInput!) {
  startOnDemand(input: $input) { id status sections { items { id type options { id } } } }
}`, map[string]any{"input": map[string]string{"examCode": o.exam, "clientKey": "load-start-" + c.id}}, &started)
	if r.key != "" {
		return fmt.Errorf("startOnDemand: %s: %s (request id %s)", r.key, r.detail, loadgen.OrDash(r.reqID))
	}
	c.attemptID = started.StartOnDemand.ID
	for _, s := range started.StartOnDemand.Sections {
		for _, it := range s.Items {
			if len(it.Options) > 0 {
				c.items = append(c.items, it)
			}
		}
	}
	if c.attemptID == "" || len(c.items) == 0 {
		return errors.New("startOnDemand returned no attempt or no items with options")
	}
	return nil
}

// loop sends the candidate's saves until stopAt.
func (c *candidate) loop(ctx context.Context, o *options, lim *limiter, start, stopAt time.Time) {
	next := start
	if o.interval > 0 {
		next = start.Add(time.Duration(rand.Int64N(int64(o.interval))))
	}
	for {
		if o.interval > 0 && (!next.Before(stopAt) || !sleepUntil(ctx, next)) {
			return
		}
		if ctx.Err() != nil || !time.Now().Before(stopAt) {
			return
		}
		if lim != nil && !lim.wait(ctx, stopAt) {
			return
		}
		if o.interval > 0 && time.Since(next) > o.interval {
			c.late++
		}
		c.results = append(c.results, c.save(ctx, o))
		if o.interval > 0 {
			// ±20 % jitter keeps the mean rate at candidates/interval.
			next = next.Add(time.Duration(float64(o.interval) * (0.8 + 0.4*rand.Float64())))
		}
	}
}

// save sends one saveAnswer for a random item and option with the next
// clientSeq; only an accepted save of that item and seq is a success.
func (c *candidate) save(ctx context.Context, o *options) result {
	it := c.items[rand.IntN(len(c.items))]
	choice := it.Options[rand.IntN(len(it.Options))].ID
	c.seq++
	var saved struct {
		SaveAnswer *struct {
			ItemID    string `json:"itemId"`
			ClientSeq int64  `json:"clientSeq"`
			Accepted  bool   `json:"accepted"`
		} `json:"saveAnswer"`
	}
	lat, r := c.graphql(ctx, o, loadgen.SaveMutation, map[string]any{"input": map[string]any{
		"attemptId": c.attemptID, "itemId": it.ID, "choices": []string{choice}, "clientSeq": c.seq,
	}}, &saved)
	r.latency = lat
	if r.key == "" {
		switch a := saved.SaveAnswer; {
		case a == nil:
			r.key, r.detail = "no saveAnswer in response", ""
		case !a.Accepted:
			r.key, r.detail = "not accepted", fmt.Sprintf("stored clientSeq %d, sent %d", a.ClientSeq, c.seq)
		case a.ItemID != it.ID || a.ClientSeq != c.seq:
			r.key, r.detail = "wrong answer echoed", fmt.Sprintf("%+v for %s seq %d", *a, it.ID, c.seq)
		}
	}
	return r
}

// graphql posts one operation as the browser does and decodes its data into
// out. It returns the time from sending the request to reading the whole
// response, and the error class ("" on success).
func (c *candidate) graphql(ctx context.Context, o *options, query string, variables map[string]any, out any) (time.Duration, result) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return 0, result{key: "client error", detail: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base.JoinPath("/graphql").String(), bytes.NewReader(body))
	if err != nil {
		return 0, result{key: "client error", detail: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	t := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return time.Since(t), result{key: "transport error", detail: loadgen.Unwrap(err).Error(), cancelled: ctx.Err() != nil}
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	lat := time.Since(t)
	r := result{reqID: resp.Header.Get("X-Request-Id")}
	if err != nil {
		r.key, r.detail, r.cancelled = "transport error", err.Error(), ctx.Err() != nil
		return lat, r
	}
	var res loadgen.GraphQLAnswer
	decodeErr := json.Unmarshal(raw, &res)
	switch {
	case decodeErr == nil && len(res.Errors) > 0:
		code := res.Errors[0].Extensions.Code
		if code == "" {
			code = "no code"
		}
		r.key, r.detail = fmt.Sprintf("HTTP %d GraphQL %s", resp.StatusCode, code), res.Errors[0].Message
	case resp.StatusCode != http.StatusOK:
		r.key, r.detail = fmt.Sprintf("HTTP %d", resp.StatusCode), strings.TrimSpace(string(raw[:min(len(raw), 200)]))
	case decodeErr != nil:
		r.key, r.detail = "HTTP 200 not JSON", decodeErr.Error()
	default:
		if err := json.Unmarshal(res.Data, out); err != nil {
			r.key, r.detail = "HTTP 200 unexpected data", err.Error()
		}
	}
	return lat, r
}

// limiter spaces the saves of all candidates by at least every; time not
// used is not saved up for a burst.
type limiter struct {
	mu    sync.Mutex
	next  time.Time
	every time.Duration
}

func (l *limiter) wait(ctx context.Context, stopAt time.Time) bool {
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(l.every)
	l.mu.Unlock()
	return at.Before(stopAt) && sleepUntil(ctx, at)
}

// sleepUntil waits until t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// checkToken makes sure the demo signed the launch token with -secret, so
// that a target configured otherwise shows up as such and not as a stream
// of launch errors.
func checkToken(token, secret string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("the demo form's launch link holds no JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return errors.New("the demo form's launch token is not signed with -secret")
	}
	return nil
}

func report(w io.Writer, o *options, setupTime time.Duration, results []result, late int, elapsed time.Duration, interrupted bool, m machine) {
	var lats []time.Duration
	var errs loadgen.Errors
	ok := 0
	for _, r := range results {
		lats = append(lats, r.latency)
		if r.key == "" {
			ok++
			continue
		}
		errs.Add(r.key, r.detail, r.reqID)
	}
	pace := "back-to-back (-interval 0)"
	if o.interval > 0 {
		pace = fmt.Sprintf("every %s ±20 %% (offered %.1f saves/s)", o.interval, float64(o.candidates)/o.interval.Seconds())
	}
	if o.max > 0 {
		pace += fmt.Sprintf(", capped at %g saves/s", o.max)
	}
	fmt.Fprintf(w, "target          %s  exam %s  candidates %d\n", o.base, o.exam, o.candidates)
	fmt.Fprintf(w, "pace            %s\n", pace)
	fmt.Fprintf(w, "setup           %d candidates launched and attempts started in %s (not measured below)\n", o.candidates, setupTime.Round(time.Millisecond))
	stop := "-duration " + o.duration.String() + " reached"
	if interrupted {
		stop = "interrupted"
	}
	fmt.Fprintf(w, "saves           %d in %s (%s; saves in flight awaited)\n", len(results), elapsed.Round(time.Millisecond), stop)
	fmt.Fprintf(w, "succeeded       %d (200, accepted: true)\n", ok)
	errs.Report(w)
	if o.interval > 0 {
		fmt.Fprintf(w, "behind schedule %d saves sent over one interval late (the server did not keep up)\n", late)
	}
	fmt.Fprintf(w, "throughput      %.1f saves/s (%.1f succeeded/s)\n", float64(len(results))/elapsed.Seconds(), float64(ok)/elapsed.Seconds())
	fmt.Fprintf(w, "latency         %s\n", loadgen.Summary(lats))
	fmt.Fprintf(w, "load average    %s before, %s after (1, 5, 15 min; above the core count, other work shared the CPUs)\n", m.loadBefore, m.loadAfter)
	switch {
	case o.serverPID == 0:
	case m.cpuErr != nil:
		fmt.Fprintf(w, "server CPU      unknown: %v\n", m.cpuErr)
	case len(results) > 0:
		fmt.Fprintf(w, "server CPU      %s in all, %.0f µs per save (process %d, user and system)\n",
			m.serverCPU.Round(10*time.Millisecond), float64(m.serverCPU.Microseconds())/float64(len(results)), o.serverPID)
	}
}
