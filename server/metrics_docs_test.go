package server_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

var (
	seriesName    = regexp.MustCompile(`\bexamgate_[a-z_]+`)
	labelMatchers = regexp.MustCompile(`\{([^}]*)\}`)
	matcherLabel  = regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)`)
	groupedBy     = regexp.MustCompile(`\bby \(([^)]*)\)`)
)

// TestDashboardAndAlertsUseExaminedSeries: every expression of the Grafana
// dashboard and of the alert rules in docs/operations.md names series
// examgate serves, with labels those series have, so that no panel or
// alert stays empty because of a typo or a renamed metric.
func TestDashboardAndAlertsUseExaminedSeries(t *testing.T) {
	_, families, body := scrapedMetrics(t)
	var exprs []string
	raw, err := os.ReadFile("../docs/grafana/examgate-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Type, Title string
			Datasource  struct{ Type, UID string }
			Targets     []struct{ Expr string }
		}
		Templating struct {
			List []struct{ Name, Type, Query string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if len(dash.Templating.List) != 1 || dash.Templating.List[0].Name != "datasource" || dash.Templating.List[0].Query != "prometheus" {
		t.Fatalf("the dashboard should let the importer pick the Prometheus data source: %+v", dash.Templating)
	}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %+v, %d queries", p.Title, p.Datasource, len(p.Targets))
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	ops, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+expr: (.+)$`).FindAllStringSubmatch(string(ops), -1) {
		exprs = append(exprs, m[1])
	}
	if len(exprs) < 20 {
		t.Fatalf("found %d expressions", len(exprs))
	}
	for _, expr := range exprs {
		var labels []string // of the series the expression names
		for _, name := range seriesName.FindAllString(expr, -1) {
			f := families[name]
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); f == nil && ok && families[base].GetType() == dto.MetricType_HISTOGRAM {
					f = families[base]
					labels = append(labels, "le")
				}
			}
			if f == nil {
				t.Errorf("%s: examgate serves no %s", expr, name)
				continue
			}
			for _, m := range f.Metric {
				for _, l := range m.Label {
					labels = append(labels, l.GetName())
				}
			}
		}
		var used []string
		for _, sel := range labelMatchers.FindAllStringSubmatch(expr, -1) {
			for _, m := range matcherLabel.FindAllStringSubmatch(sel[1], -1) {
				used = append(used, m[1])
			}
		}
		for _, by := range groupedBy.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(by[1], ",") {
				used = append(used, strings.TrimSpace(l))
			}
		}
		for _, l := range used {
			if !slices.Contains(labels, l) {
				t.Errorf("%s: no series it names has the label %q", expr, l)
			}
		}
	}
	if t.Failed() {
		t.Logf("served:\n%s", body)
	}
}
