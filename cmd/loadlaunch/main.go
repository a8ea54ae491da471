// Command loadlaunch drives the TI launch of a running examgate in demo mode
// and reports how fast it answers.
//
//	EXAMGATE_DEMO=1 EXAMGATE_ADDR=127.0.0.1:8080 examgate &
//	loadlaunch -base http://127.0.0.1:8080 -n 2000 -c 8
//
// Each of n launches is two requests, as a learner's browser makes them in
// the demo: POST /demo/launch creates the learner and their purchase in the
// built-in TI simulator and answers 303 to a freshly signed launch link (the
// form step, which TI itself does in production); GET of that link is the
// launch: token check, replay check, two calls to the simulated TI, the
// launch transaction, and 303 to /exams/<exam>. Only the launch step is the
// measured one; the form step is reported apart. Redirects are never
// followed, so /exams/<exam> is not fetched.
//
// The run stops after n launches or after -duration, whichever comes first.
// It only talks to loopback addresses: it creates real rows in the target's
// database and must not be pointed at a shared deployment.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
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
			fmt.Fprintln(os.Stderr, "loadlaunch:", err)
		}
		os.Exit(2)
	}
}

type options struct {
	base        *url.URL
	secret      string
	apiKey      string
	n, c        int
	exam        string
	course      string
	duration    time.Duration
	timeout     time.Duration
	purchasedOn string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadlaunch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "http://127.0.0.1:8080", "examgate base URL; loopback only")
	o := &options{}
	fs.StringVar(&o.secret, "secret", "demo-launch-secret", "TI launch secret of the target (the demo's default; the demo form signs with it)")
	fs.StringVar(&o.apiKey, "api-key", "demo-ti-api-key", "TI API key of the target (the demo's default; the simulator checks it)")
	fs.IntVar(&o.n, "n", 2000, "total launches")
	fs.IntVar(&o.c, "c", 8, "concurrent learners")
	fs.StringVar(&o.exam, "exam", "DEMO-101", "exam code to launch")
	fs.StringVar(&o.course, "course", "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f", "TI course of the exam (must be the exam's first course in the target's catalog)")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "stop after this long even if -n launches are not done")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of one request")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.n < 1 || o.c < 1 || o.duration <= 0 || o.timeout <= 0 {
		return nil, errors.New("-n, -c, -duration and -timeout must be positive")
	}
	u, err := loadgen.CheckBase(*base)
	if err != nil {
		return nil, err
	}
	o.base = u
	return o, nil
}

// result is the outcome of one launch.
type result struct {
	step      string // "form" or "launch": the step that ended it
	status    int    // 0 on a transport error
	err       string // transport error or unexpected answer
	reqID     string // X-Request-Id, to find the request in the server log
	form      time.Duration
	launch    time.Duration
	success   bool
	cancelled bool   // cut short by -duration or ^C, not the server's doing
	kind      string // error class when the status alone does not say it
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	transport := loadgen.Transport(o.c, 30*time.Second)
	defer transport.CloseIdleConnections()
	client := loadgen.Client(transport, nil, o.timeout)
	if err := checkDemo(ctx, client, o); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	// Learners of this run get a prefix of their own, so that reruns against
	// the same database create new candidates instead of updating old ones.
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	perWorker := make([][]result, min(o.c, o.n))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range perWorker {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(o.n) {
					return
				}
				perWorker[w] = append(perWorker[w], launchOnce(ctx, client, o, fmt.Sprintf("%s-%d", runID, i)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	results := slices.Concat(perWorker...)
	// A launch cut short by the deadline or ^C is not the server's error.
	results = slices.DeleteFunc(results, func(r result) bool { return r.cancelled })
	report(stdout, o, results, elapsed, len(results) < o.n)
	return nil
}

// checkDemo makes sure, before any load is sent, that the target runs in
// demo mode (only then is the TI simulator mounted at /ti-sim) and that the
// simulator takes -api-key, with TI's ping (docs/rest/ping).
func checkDemo(ctx context.Context, client *http.Client, o *options) error {
	u := o.base.JoinPath("/ti-sim/incoming/v2/ping")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.apiKey)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("examgate at %s does not answer: %w", o.base, loadgen.Unwrap(err))
	}
	defer resp.Body.Close()
	var ping struct {
		Valid bool `json:"valid"`
	}
	decodeErr := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ping)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("the TI simulator of %s refused -api-key: give the target's EXAMGATE_TI_API_KEY", o.base)
	case resp.StatusCode != http.StatusOK || decodeErr != nil || !ping.Valid:
		return fmt.Errorf("%s has no TI simulator at /ti-sim (HTTP %d): start examgate with EXAMGATE_DEMO=1", o.base, resp.StatusCode)
	}
	return nil
}

// checkToken makes sure the demo signed the launch token with -secret for
// -course, so that a target configured otherwise shows up as such and not as
// a stream of launch errors.
func checkToken(token, secret, course string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("the launch link holds no JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return errors.New("the launch token is not signed with -secret")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		CourseID string `json:"courseId"`
	}
	if err != nil || json.Unmarshal(payload, &claims) != nil || claims.CourseID != course {
		return fmt.Errorf("the launch token is for course %q, not -course %q", claims.CourseID, course)
	}
	return nil
}

// launchOnce is one learner: the demo form, then the launch link it returns.
func launchOnce(ctx context.Context, client *http.Client, o *options, id string) result {
	form := url.Values{
		"firstName":   {"Load"},
		"lastName":    {"Learner " + id},
		"email":       {"load-" + id + "@example.com"},
		"externalId":  {"load-" + id},
		"exam":        {o.exam},
		"purchasedOn": {time.Now().UTC().AddDate(0, 0, -10).Format(time.DateOnly)},
	}
	r := result{step: "form"}
	t0 := time.Now()
	resp, err := post(ctx, client, o.base.JoinPath("/demo/launch").String(), form)
	r.form = time.Since(t0)
	if err != nil {
		r.err, r.cancelled = err.Error(), ctx.Err() != nil
		return r
	}
	r.status, r.reqID = resp.StatusCode, resp.Header.Get("X-Request-Id")
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil || loc.Path != "/launch/ti" {
		r.err = fmt.Sprintf("want 303 to /launch/ti, got %d", resp.StatusCode)
		return r
	}
	if err := checkToken(loc.Query().Get("jwt"), o.secret, o.course); err != nil {
		r.err, r.kind = err.Error(), "form link not for -secret/-course"
		return r
	}

	r = result{step: "launch", form: r.form}
	t1 := time.Now()
	resp, err = get(ctx, client, loc.String())
	r.launch = time.Since(t1)
	if err != nil {
		r.status, r.err, r.cancelled = 0, err.Error(), ctx.Err() != nil
		return r
	}
	r.status, r.reqID = resp.StatusCode, resp.Header.Get("X-Request-Id")
	want := "/exams/" + url.PathEscape(o.exam)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		r.err = fmt.Sprintf("want 303 to %s, got %d to %q", want, resp.StatusCode, resp.Header.Get("Location"))
		return r
	}
	r.success = true
	return r
}

func post(ctx context.Context, client *http.Client, u string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return loadgen.Do(client, req)
}

func get(ctx context.Context, client *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return loadgen.Do(client, req)
}

func report(w io.Writer, o *options, results []result, elapsed time.Duration, cut bool) {
	var launches, forms []time.Duration
	var errs loadgen.Errors
	ok := 0
	for _, r := range results {
		forms = append(forms, r.form)
		if r.step == "launch" {
			launches = append(launches, r.launch)
		}
		if r.success {
			ok++
			continue
		}
		key := r.step + " " + strconv.Itoa(r.status)
		switch {
		case r.kind != "":
			key = r.kind
		case r.status == 0:
			key = r.step + " transport error"
		}
		errs.Add(key, r.err, r.reqID)
	}

	fmt.Fprintf(w, "target          %s  exam %s  concurrency %d\n", o.base, o.exam, o.c)
	stop := "all -n launches done"
	if cut {
		stop = "stopped by -duration or interrupt"
	}
	fmt.Fprintf(w, "launches        %d of %d (%s) in %s\n", len(results), o.n, stop, elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "succeeded       %d (303 to /exams/%s)\n", ok, o.exam)
	errs.Report(w)
	secs := elapsed.Seconds()
	fmt.Fprintf(w, "throughput      %.1f launches/s (each preceded by its form step; %.1f req/s in all)\n",
		float64(len(launches))/secs, float64(len(forms)+len(launches))/secs)
	fmt.Fprintf(w, "launch latency  %s\n", loadgen.Summary(launches))
	fmt.Fprintf(w, "form latency    %s\n", loadgen.Summary(forms))
}
