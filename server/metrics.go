package server

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
)

// Metrics are examgate's Prometheus metrics: requests, GraphQL operations,
// launches and outbound calls as they happen; the job queue, live sessions
// and the database pools read from the store when scraped.
type Metrics struct {
	Registry *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	operations  *prometheus.CounterVec
	launches    *prometheus.CounterVec
	outbound    *prometheus.CounterVec
	outboundDur *prometheus.HistogramVec

	mu       sync.Mutex
	opNames  map[string]bool // operation names seen, bounded
	maxNames int
}

// NewMetrics registers examgate's metrics, and the Go runtime's and the
// process's, on a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "examgate_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status."}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "examgate_http_request_duration_seconds",
			Help: "Time to answer HTTP requests, by route pattern.", Buckets: prometheus.DefBuckets}, []string{"route"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "examgate_graphql_operations_total",
			Help: "GraphQL operations, by operation name and outcome (ok, or the first error's code)."}, []string{"operation", "outcome"}),
		launches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "examgate_launches_total",
			Help: "Launches, by kind (ti, lti) and outcome (ok, preview, picker, or the error's code)."}, []string{"kind", "outcome"}),
		outbound: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "examgate_outbound_requests_total",
			Help: "Requests to TI, LTI platforms and webhook receivers, by service and outcome (status code, or error)."}, []string{"service", "outcome"}),
		outboundDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "examgate_outbound_request_duration_seconds",
			Help: "Latency of requests to TI, LTI platforms and webhook receivers, by service.", Buckets: prometheus.DefBuckets}, []string{"service"}),
		opNames:  map[string]bool{},
		maxNames: 200,
	}
	m.Registry.MustRegister(m.requests, m.duration, m.operations, m.launches, m.outbound, m.outboundDur,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observeHTTP(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

var operationName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ObserveOperation counts a GraphQL operation. Clients choose operation
// names, so at most maxNames distinct ones get a series; later ones count
// as "other".
func (m *Metrics) ObserveOperation(name, outcome string) {
	if m == nil {
		return
	}
	if name == "" {
		name = "anonymous"
	} else if !operationName.MatchString(name) {
		name = "other"
	} else {
		m.mu.Lock()
		if !m.opNames[name] {
			if len(m.opNames) >= m.maxNames {
				name = "other"
			} else {
				m.opNames[name] = true
			}
		}
		m.mu.Unlock()
	}
	m.operations.WithLabelValues(name, outcome).Inc()
}

// launch counts a launch's outcome.
func (m *Metrics) launch(kind string, err error, outcome string) {
	if m == nil {
		return
	}
	if err != nil {
		outcome = examgate.ErrorCode(examgate.Outage(err, ""))
	}
	m.launches.WithLabelValues(kind, outcome).Inc()
}

// Transport counts and times the requests of one outbound service.
func (m *Metrics) Transport(service string, base http.RoundTripper) http.RoundTripper {
	if m == nil {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := base.RoundTrip(r)
		outcome := "error"
		if err == nil {
			outcome = strconv.Itoa(resp.StatusCode)
		}
		m.outbound.WithLabelValues(service, outcome).Inc()
		m.outboundDur.WithLabelValues(service).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// metricsStore is what the scrape-time metrics read.
type metricsStore interface {
	QueueCounts(ctx context.Context) ([]db.QueueCount, error)
	LiveSessions(ctx context.Context, now time.Time) (int, error)
}

// storeCollector reads the job queue, the live sessions and the pools when
// scraped, within scrapeTimeout.
type storeCollector struct {
	store  examgate.Store
	clock  examgate.Clock
	queue  *prometheus.Desc
	oldest *prometheus.Desc
	live   *prometheus.Desc
	pool   *prometheus.Desc
	waits  *prometheus.Desc
	failed *prometheus.Desc
}

const scrapeTimeout = 3 * time.Second

// WatchStore adds the metrics read from store when scraped.
func (m *Metrics) WatchStore(store examgate.Store, clock examgate.Clock) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(&storeCollector{
		store: store, clock: clock,
		queue:  prometheus.NewDesc("examgate_jobs", "Jobs not done, by kind and state (queued, running, failed).", []string{"kind", "state"}, nil),
		oldest: prometheus.NewDesc("examgate_jobs_oldest_age_seconds", "Age of the oldest job not done, by kind and state.", []string{"kind", "state"}, nil),
		live:   prometheus.NewDesc("examgate_sessions_live", "Learner sessions not expired.", nil, nil),
		pool:   prometheus.NewDesc("examgate_db_connections_in_use", "Database connections in use, by pool (main, hot: session reads and autosaves).", []string{"pool"}, nil),
		waits:  prometheus.NewDesc("examgate_db_connection_waits_total", "Times a request waited for a database connection, by pool.", []string{"pool"}, nil),
		failed: prometheus.NewDesc("examgate_metrics_store_errors", "1 when the last scrape could not read the store.", nil, nil),
	})
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queue, c.oldest, c.live, c.pool, c.waits, c.failed} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	failed := 0.0
	if ms, ok := c.store.(metricsStore); ok {
		now := c.clock.Now()
		if counts, err := ms.QueueCounts(ctx); err == nil {
			for _, q := range counts {
				ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(q.Count), q.Kind, q.State)
				if !q.Oldest.IsZero() {
					ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, max(now.Sub(q.Oldest).Seconds(), 0), q.Kind, q.State)
				}
			}
		} else {
			failed = 1
		}
		if n, err := ms.LiveSessions(ctx, now); err == nil {
			ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, float64(n))
		} else {
			failed = 1
		}
	}
	if p, ok := c.store.(interface {
		PoolStats() sql.DBStats
		HotStats() sql.DBStats
	}); ok {
		for name, st := range map[string]sql.DBStats{"main": p.PoolStats(), "hot": p.HotStats()} {
			ch <- prometheus.MustNewConstMetric(c.pool, prometheus.GaugeValue, float64(st.InUse), name)
			ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(st.WaitCount), name)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, failed)
}

// Handler serves the registry, behind the Bearer key when one is set.
func (m *Metrics) Handler(key string) http.Handler {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
	if key == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearerToken(r)
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="examgate metrics"`)
			http.Error(w, "metrics need the key of EXAMGATE_METRICS_KEY as a Bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
