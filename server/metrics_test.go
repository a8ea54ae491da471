package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi"
)

const metricsKey = "metrics-key-0123456789"

// /metrics answers only to its key, in the Prometheus text format, with
// the requests, operations, launches and TI calls that happened and what
// the store holds.
func TestMetrics(t *testing.T) {
	e, families, body := scrapedMetrics(t)
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := families[name]
		if f == nil {
			t.Fatalf("no %s in\n%s", name, body)
		}
		for _, mt := range f.Metric {
			if matches(mt, labels) {
				switch {
				case mt.Counter != nil:
					return mt.Counter.GetValue()
				case mt.Gauge != nil:
					return mt.Gauge.GetValue()
				case mt.Histogram != nil:
					return float64(mt.Histogram.GetSampleCount())
				}
			}
		}
		t.Fatalf("no %s with %v in\n%s", name, labels, body)
		return 0
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"examgate_launches_total", map[string]string{"kind": "ti", "outcome": "ok"}, 1},
		{"examgate_http_requests_total", map[string]string{"route": "GET /launch/ti", "method": "GET", "status": "303"}, 1},
		{"examgate_graphql_operations_total", map[string]string{"operation": "Dash", "outcome": "ok"}, 1},
		{"examgate_graphql_operations_total", map[string]string{"operation": "Dash", "outcome": "NOT_FOUND"}, 1},
		{"examgate_outbound_requests_total", map[string]string{"service": "ti", "outcome": "200"}, 2},
		{"examgate_sessions_live", nil, 1},
		{"examgate_jobs", map[string]string{"kind": examgate.JobWebhookEvent, "state": "queued"}, 1},
		{"examgate_metrics_store_errors", nil, 0},
	} {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if strings.Contains(body, e.token(nil)[:20]) || strings.Contains(body, "ada@example.com") {
		t.Fatal("metrics leak a token or an email")
	}
}

// scrapedMetrics runs a launch and two GraphQL operations against a server
// with metrics, queues a job, and scrapes /metrics, checking that it
// answers only to its key.
func scrapedMetrics(t *testing.T) (*env, map[string]*dto.MetricFamily, string) {
	t.Helper()
	m := server.NewMetrics()
	store := dbtest.OpenSQLite(t)
	e := newEnvWithCatalog(t, store, catalogYAML, func(d *server.Deps) {
		d.Metrics, d.MetricsKey = m, metricsKey
		ti := d.Launcher.TI.(*tiapi.Client)
		ti.HTTP.Transport = m.Transport("ti", ti.HTTP.Transport)
		m.WatchStore(d.Store, d.Clock)
	})
	ada := e.browser()
	e.launch(ada, "DEMO-101", e.token(nil))
	e.graphql(ada, `query Dash { me { email } }`)
	e.graphql(ada, `query Dash { exam(code: "NOPE") { title } }`)
	if err := store.Enqueue(t.Context(), now, examgate.Job{Kind: examgate.JobWebhookEvent, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}

	get := func(auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Fatalf("without the key: %d", code)
	}
	if code, _ := get("wrong-key-0123456789"); code != http.StatusUnauthorized {
		t.Fatalf("with a wrong key: %d", code)
	}
	code, body := get(metricsKey)
	if code != http.StatusOK {
		t.Fatalf("metrics: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v", err)
	}
	return e, families, body
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.Label {
		if want, ok := labels[l.GetName()]; ok {
			if l.GetValue() != want {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}
