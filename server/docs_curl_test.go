package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// curlExample is a curl command of a guide's sh block together with the
// answer the guide shows for it (# HTTP <status> and # <JSON> lines).
type curlExample struct {
	command string
	method  string
	path    string
	headers [][2]string
	body    string
	status  int
	answer  string // JSON; "…" as a string value matches any value
}

var (
	shBlock   = regexp.MustCompile("(?s)```sh\n(.*?)```")
	shellWord = regexp.MustCompile(`'[^']*'|"[^"]*"|\S+`)
)

// curlExamples returns the curl commands of a guide that show their answer.
func curlExamples(t *testing.T, file string) []curlExample {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []curlExample
	for _, block := range shBlock.FindAllStringSubmatch(string(text), -1) {
		lines := strings.Split(strings.ReplaceAll(block[1], "\\\n", " "), "\n")
		for i := 0; i < len(lines); i++ {
			if !strings.HasPrefix(strings.TrimSpace(lines[i]), "curl ") {
				continue
			}
			ex := parseCurl(t, lines[i])
			for j := i + 1; j < len(lines) && strings.HasPrefix(lines[j], "# "); j++ {
				l := strings.TrimPrefix(lines[j], "# ")
				if s, ok := strings.CutPrefix(l, "HTTP "); ok {
					ex.status, _ = strconv.Atoi(strings.Fields(s)[0])
				} else if strings.HasPrefix(l, "HTTP/1.1 ") {
					ex.status, _ = strconv.Atoi(strings.Fields(l)[1])
				} else if strings.HasPrefix(l, "{") {
					ex.answer = l
				}
			}
			if ex.status == 0 && ex.answer != "" {
				ex.status = http.StatusOK
			}
			if ex.status != 0 {
				out = append(out, ex)
			}
		}
	}
	return out
}

func parseCurl(t *testing.T, line string) curlExample {
	t.Helper()
	ex := curlExample{command: strings.TrimSpace(line), method: http.MethodGet}
	words := shellWord.FindAllString(line, -1)
	unquote := func(w string) string {
		if len(w) >= 2 && (w[0] == '\'' || w[0] == '"') {
			return w[1 : len(w)-1]
		}
		return w
	}
	for i := 1; i < len(words); i++ {
		w := unquote(words[i])
		switch {
		case w == "-H" && i+1 < len(words):
			i++
			name, value, _ := strings.Cut(unquote(words[i]), ": ")
			ex.headers = append(ex.headers, [2]string{name, value})
		case w == "-d" && i+1 < len(words):
			i++
			ex.body = unquote(words[i])
			if ex.method == http.MethodGet {
				ex.method = http.MethodPost
			}
		case w == "-X" && i+1 < len(words):
			i++
			ex.method = w
		case strings.Contains(w, "/graphql") || strings.Contains(w, "/metrics"):
			_, ex.path, _ = strings.Cut(w, "://")
			if p, ok := strings.CutPrefix(w, "$EXAMGATE"); ok {
				ex.path = p
			} else {
				ex.path = ex.path[strings.Index(ex.path, "/"):]
			}
		}
	}
	if ex.path == "" {
		t.Fatalf("no URL in %s", line)
	}
	return ex
}

// run sends the example to base, with $KEY replaced by key and $ADMIN_KEY
// by admin, and checks the answer against the guide's.
func (ex curlExample) run(t *testing.T, base, key, admin string) {
	t.Helper()
	req, _ := http.NewRequest(ex.method, base+ex.path, strings.NewReader(ex.body))
	for _, h := range ex.headers {
		req.Header.Set(h[0], strings.NewReplacer("$ADMIN_KEY", admin, "$KEY", key).Replace(h[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != ex.status {
		t.Errorf("%s\nanswered %d, the guide says %d: %s", ex.command, resp.StatusCode, ex.status, body)
	}
	if ex.answer == "" {
		return
	}
	var want, got any
	if err := json.Unmarshal([]byte(ex.answer), &want); err != nil {
		t.Fatalf("the guide's answer is not JSON: %v\n%s", err, ex.answer)
	}
	if err := json.Unmarshal(body, &got); err != nil || !jsonMatches(want, got, "") {
		t.Errorf("%s\nanswered %s\nthe guide shows %s", ex.command, body, ex.answer)
	}
}

// varying are the members whose values differ from one answer to the next
// (a latency, what is left of a budget and when it is full again): the
// guide's value stands for any value of its JSON type.
var varying = map[string]bool{"lastLatencyMs": true, "remaining": true, "resetAt": true}

// jsonMatches reports whether got has every member of want, with equal
// values, where the guide shows what varies from answer to answer: "…"
// stands for any value, "whsec_…" for any string so beginning, and a
// varying member for any value of its type.
func jsonMatches(want, got any, name string) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if gv, ok := g[k]; !ok || !jsonMatches(v, gv, k) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !jsonMatches(w[i], g[i], name) {
				return false
			}
		}
		return true
	case string:
		g, isString := got.(string)
		prefix, varies := strings.CutSuffix(w, "…")
		return w == got || varies && got != nil && strings.HasPrefix(g, prefix) || varying[name] && isString
	case float64:
		_, isNumber := got.(float64)
		return want == got || varying[name] && isNumber
	default:
		return want == got
	}
}
