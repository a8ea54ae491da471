package loadgen

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestCheckBase(t *testing.T) {
	for _, ok := range []string{
		"http://127.0.0.1:8080", "http://127.1.2.3", "https://localhost:8443", "http://LOCALHOST",
		"http://[::1]:8080", "http://[::ffff:127.0.0.1]:8080",
	} {
		if _, err := CheckBase(ok); err != nil {
			t.Errorf("CheckBase(%q) = %v, want it accepted", ok, err)
		}
	}
	for _, bad := range []string{
		"http://10.0.0.1:8080", "http://0.0.0.0:8080", "http://[::]:8080", "http://example.com",
		"http://localhost.example.com", "http://127.0.0.1.nip.io", "ftp://127.0.0.1", "127.0.0.1:8080",
		"http://[fe80::1%25lo]:8080", "",
	} {
		if _, err := CheckBase(bad); err == nil {
			t.Errorf("CheckBase(%q) accepted, want it refused", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 90: 90 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := Percentile(ds, p); got != want {
			t.Errorf("Percentile(1..100ms, %v) = %v, want %v", p, got, want)
		}
	}
	if got := Percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("percentile of one sample = %v", got)
	}
	if got := Summary(ds); !strings.HasPrefix(got, "p50 50.00 ms  p90 90.00 ms  p99 99.00 ms  max 100.00 ms  (n=100)") {
		t.Errorf("Summary = %q", got)
	}
}

func TestErrors(t *testing.T) {
	var e Errors
	var out bytes.Buffer
	e.Report(&out)
	if out.String() != "errors          none\n" {
		t.Errorf("no errors: %q", out.String())
	}
	for range 7 {
		e.Add("HTTP 500", "boom", "")
	}
	e.Add("HTTP 200 GraphQL CONFLICT", "ended", "req-1")
	out.Reset()
	e.Report(&out)
	for _, want := range []string{"HTTP 200 GraphQL CONFLICT            1\n", "HTTP 500                             7\n", "e.g. HTTP 500: boom (request id -)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "e.g."); n != 5 {
		t.Errorf("%d examples, want 5", n)
	}
}
