// Package loadgen holds what the load generators (cmd/loadlaunch,
// cmd/loadsave) share: the loopback-only target check, the HTTP client
// setup, latency percentiles, error tallies, and the machine's state (load
// average, CPU time of the server) printed with every run so that numbers
// taken on a busy machine are recognised as such.
package loadgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/examgate/examgate/graph"
)

// CheckBase accepts an http(s) URL whose host is localhost, 127.0.0.0/8 or
// ::1, and nothing else: no name is resolved, so no DNS answer can redirect
// the load elsewhere. The load creates real rows in the target's database
// and must never reach a shared deployment.
func CheckBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-base %q: give an http URL such as http://127.0.0.1:8080", raw)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return u, nil
	}
	ip, err := netip.ParseAddr(host)
	if err == nil && ip.Zone() == "" {
		ip = ip.Unmap()
		if (ip.Is4() && ip.As4()[0] == 127) || ip == netip.IPv6Loopback() {
			return u, nil
		}
	}
	return nil, fmt.Errorf("-base %q: only loopback targets (localhost, 127.0.0.0/8, ::1) are allowed", raw)
}

// Transport is an HTTP transport for conns concurrent clients that never
// goes through a proxy.
func Transport(conns int, idle time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:               nil, // never send the load through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     idle,
	}
}

// Client is an HTTP client that does not follow redirects (the load checks
// the 303s themselves).
func Client(t http.RoundTripper, jar http.CookieJar, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: t,
		Jar:       jar,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Do sends req and drains the body so that the connection is reused. A
// transport error loses its URL, which may hold a launch token.
func Do(client *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, Unwrap(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp, nil
}

// Unwrap drops the *url.Error around a transport error, and so its URL.
func Unwrap(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Summary gives p50/p90/p99/max of ds by the nearest-rank method.
func Summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }
	return fmt.Sprintf("p50 %s ms  p90 %s ms  p99 %s ms  max %s ms  (n=%d)",
		ms(Percentile(s, 50)), ms(Percentile(s, 90)), ms(Percentile(s, 99)), ms(s[len(s)-1]), len(s))
}

// Percentile returns the p-th percentile of sorted, by nearest rank.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// Errors tallies failures by class and keeps a few examples.
type Errors struct {
	counts  map[string]int
	samples []string
}

// Add counts one failure of class key; detail and reqID describe it.
func (e *Errors) Add(key, detail, reqID string) {
	if e.counts == nil {
		e.counts = map[string]int{}
	}
	e.counts[key]++
	if len(e.samples) < 5 {
		e.samples = append(e.samples, fmt.Sprintf("%s: %s (request id %s)", key, detail, OrDash(reqID)))
	}
}

// Report writes the tally, or "none".
func (e *Errors) Report(w io.Writer) {
	if len(e.counts) == 0 {
		fmt.Fprintln(w, "errors          none")
		return
	}
	keys := make([]string, 0, len(e.counts))
	for k := range e.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "errors          %-36s %d\n", k, e.counts[k])
	}
	for _, s := range e.samples {
		fmt.Fprintf(w, "  e.g. %s\n", s)
	}
}

// OrDash is s, or "-" when empty.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// LoadAvg is the 1-, 5- and 15-minute load average (Linux), or "unknown":
// on a machine shared with other work, throughput and latency say as much
// about that work as about the server.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// ProcessCPU returns the CPU time (user and system) process pid has used
// (Linux). Unlike latency, the CPU time the server spends per request
// hardly changes when other work shares the machine.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis; utime and stime are fields 14 and 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// Clock ticks: 100 per second on every Linux this runs on (USER_HZ).
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// SaveMutation is the web app's autosave request, word for word as the
// browser sends it (the generated frontend/src/gql/graphql.ts).
const SaveMutation = graph.SaveAnswerDocument

// GraphQLAnswer is the envelope of a GraphQL response.
type GraphQLAnswer struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
}

// LoadExam is the on-demand exam of LoadCatalog, with LoadItems items.
const (
	LoadExam  = "LOAD-1"
	LoadItems = 20
)

// LoadCatalog is a demo catalog with one on-demand exam long enough for any
// load run, LOAD-1, followed by more (further exams of the same YAML list).
// Its course is the demo's, 3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f, which the
// demo form puts in the purchase and the launch token.
func LoadCatalog(more string) []byte {
	var s strings.Builder
	s.WriteString(`# Written by loadsave -write-catalog or perfratio: a catalog for load runs of
# the answer autosave against examgate in demo mode (EXAMGATE_DEMO=1 EXAMGATE_EXAMS=<this file>).
exams:
  - code: ` + LoadExam + `
    title: Autosave Load Exam
    eligibilityDays: 90
    ti:
      courseIds: ["3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"]
      courseSlug: demo-course
      assignmentId: "6b2d4f8a-1c3e-4a5b-9d7f-0e2a4c6b8d1f"
    delivery:
      onDemand: true
      durationMinutes: 180
      passMark: 50
      maxAttempts: 5
      items:
`)
	for i := 1; i <= LoadItems; i++ {
		fmt.Fprintf(&s, `        - id: q%d
          type: single
          stem: "Load question %d: pick one."
          options:
            - {id: a, text: "Alpha"}
            - {id: b, text: "Bravo"}
            - {id: c, text: "Charlie"}
            - {id: d, text: "Delta"}
          correct: [b]
`, i, i)
	}
	s.WriteString(more)
	return []byte(s.String())
}
