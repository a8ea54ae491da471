package examgate_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
)

// partnerGuide returns the partner guide, which holds the webhook section.
func partnerGuide(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("docs/partners.md")
	if err != nil || !strings.Contains(string(b), "verify_examgate_signature") {
		t.Fatalf("docs/partners.md must hold the webhook signature examples (read: %v)", err)
	}
	return string(b)
}

// codeBlock returns the fenced block of a language that contains marker.
func codeBlock(t *testing.T, doc, lang, marker string) string {
	t.Helper()
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		if strings.Contains(m[1], marker) {
			return m[1]
		}
	}
	t.Fatalf("no %s block with %q in the partner guide", lang, marker)
	return ""
}

// signatureCase is one request a documented verifier must judge.
type signatureCase struct {
	name   string
	secret string
	header string
	body   []byte
	now    time.Time
	valid  bool
}

func signatureCases() []signatureCase {
	body := []byte(`{"id":"evt_1","type":"booking.created","booking":{"candidate":{"email":"zoë@example.com"}}}`)
	sent := time.Unix(1796027400, 0)
	secret := examgate.NewWebhookSecret()
	header := examgate.SignWebhook(secret, sent, body)
	return []signatureCase{
		{"valid", secret, header, body, sent.Add(30 * time.Second), true},
		{"valid, clock behind", secret, header, body, sent.Add(-2 * time.Minute), true},
		{"two signatures, one valid", secret, "t=1796027400,v1=" + strings.Repeat("0", 64) + "," + strings.SplitN(header, ",", 2)[1], body, sent, true},
		{"tampered body", secret, header, bytes.Replace(body, []byte("zoë"), []byte("zoe"), 1), sent, false},
		{"wrong secret", examgate.NewWebhookSecret(), header, body, sent, false},
		{"replayed later", secret, header, body, sent.Add(6 * time.Minute), false},
		{"timestamp changed", secret, strings.Replace(header, "t=1796027400", "t=1796027401", 1), body, sent, false},
		{"no signature", secret, "", body, sent, false},
		{"no v1", secret, "t=1796027400", body, sent, false},
	}
}

// TestDocumentedVerifiersAcceptOurSignatures runs the guide's Go, Node.js
// and Python verifiers, as printed, on requests signed by SignWebhook.
func TestDocumentedVerifiersAcceptOurSignatures(t *testing.T) {
	doc := partnerGuide(t)
	cases := signatureCases()
	dir := t.TempDir()
	// Each case as files the harnesses read: secret, header, body, now.
	for i, c := range cases {
		base := filepath.Join(dir, "case"+strconv.Itoa(i))
		for ext, content := range map[string][]byte{
			".secret": []byte(c.secret), ".header": []byte(c.header), ".body": c.body,
			".now": []byte(strconv.FormatInt(c.now.Unix(), 10)),
		} {
			if err := os.WriteFile(base+ext, content, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := strconv.Itoa(len(cases))

	check := func(t *testing.T, out []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		got := strings.Fields(string(out))
		if len(got) != len(cases) {
			t.Fatalf("harness printed %q", out)
		}
		for i, c := range cases {
			if want := strconv.FormatBool(c.valid); got[i] != want {
				t.Errorf("%s: verifier said %s, want %s", c.name, got[i], want)
			}
		}
	}

	t.Run("go", func(t *testing.T) {
		src := codeBlock(t, doc, "go", "func VerifySignature(")
		src = strings.Replace(src, "package webhook\n", "package main\n", 1)
		mod := filepath.Join(dir, "gomod")
		must(t, os.MkdirAll(mod, 0o755))
		must(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module verify\n\ngo 1.22\n"), 0o600))
		must(t, os.WriteFile(filepath.Join(mod, "verify.go"), []byte(src), 0o600))
		must(t, os.WriteFile(filepath.Join(mod, "main.go"), []byte(`package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	n, _ := strconv.Atoi(os.Args[2])
	for i := 0; i < n; i++ {
		base := filepath.Join(os.Args[1], "case"+strconv.Itoa(i))
		read := func(ext string) []byte { b, _ := os.ReadFile(base + ext); return b }
		now, _ := strconv.ParseInt(string(read(".now")), 10, 64)
		err := VerifySignature(string(read(".secret")), string(read(".header")), read(".body"), time.Unix(now, 0))
		fmt.Println(err == nil)
	}
}
`), 0o600))
		cmd := exec.Command(tool(t, "go"), "run", ".", dir, n)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		check(t, out, err)
	})

	t.Run("node", func(t *testing.T) {
		src := codeBlock(t, doc, "js", "function verifyExamgateSignature(")
		must(t, os.WriteFile(filepath.Join(dir, "verify.js"), []byte(src), 0o600))
		// With -e, process.argv[1] is the first argument.
		harness := `const fs = require("node:fs");
const path = require("node:path");
const { verifyExamgateSignature } = require(path.join(process.argv[1], "verify.js"));
for (let i = 0; i < Number(process.argv[2]); i++) {
  const base = path.join(process.argv[1], "case" + i);
  const read = (ext) => fs.readFileSync(base + ext);
  console.log(String(verifyExamgateSignature(read(".secret").toString(), read(".header").toString(), read(".body"), Number(read(".now").toString()))));
}
`
		out, err := exec.Command(tool(t, "node"), "-e", harness, dir, n).CombinedOutput()
		check(t, out, err)
	})

	t.Run("python", func(t *testing.T) {
		src := codeBlock(t, doc, "python", "def verify_examgate_signature(")
		must(t, os.WriteFile(filepath.Join(dir, "examgate_verify.py"), []byte(src), 0o600))
		harness := `import os, sys
sys.path.insert(0, sys.argv[1])
from examgate_verify import verify_examgate_signature
for i in range(int(sys.argv[2])):
    base = os.path.join(sys.argv[1], "case%d" % i)
    read = lambda ext: open(base + ext, "rb").read()
    print(str(verify_examgate_signature(read(".secret").decode(), read(".header").decode(), read(".body"), now=int(read(".now")))).lower())
`
		out, err := exec.Command(tool(t, "python3"), "-c", harness, dir, n).CombinedOutput()
		check(t, out, err)
	})
}

// TestDocumentedPayloadsMatchEvents checks that the guide's example events
// have exactly the fields examgate sends.
func TestDocumentedPayloadsMatchEvents(t *testing.T) {
	doc := partnerGuide(t)
	re := regexp.MustCompile("(?s)```json\n(.*?)```")
	found := 0
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		if !strings.Contains(m[1], `"evt_`) {
			continue
		}
		found++
		dec := json.NewDecoder(strings.NewReader(m[1]))
		dec.DisallowUnknownFields()
		var ev examgate.WebhookEvent
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("example is not an event: %v\n%s", err, m[1])
		}
		// The status is spelled as the GraphQL feed spells it.
		if ev.Booking != nil && !slices.Contains(graphQLBookingStatuses(t), ev.Booking.Status) {
			t.Fatalf("example booking status %q is not one of the GraphQL API's %v", ev.Booking.Status, graphQLBookingStatuses(t))
		}
		again, _ := json.Marshal(ev)
		var a, b any
		_ = json.Unmarshal([]byte(m[1]), &a)
		_ = json.Unmarshal(again, &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("example differs from what examgate sends:\n doc  %s\n sent %s", ja, jb)
		}
	}
	if found < 2 {
		t.Fatalf("found %d example events", found)
	}
}

// graphQLBookingStatuses reads the values of the BookingStatus enum from
// the schema.
func graphQLBookingStatuses(t *testing.T) []string {
	t.Helper()
	schema, err := os.ReadFile("graph/schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)enum BookingStatus \{(.*?)\}`).FindSubmatch(schema)
	if m == nil {
		t.Fatal("no enum BookingStatus in graph/schema.graphqls")
	}
	var out []string
	for _, line := range strings.Split(string(m[1]), "\n") {
		if f := strings.Fields(line); len(f) == 1 && !strings.HasPrefix(f[0], "\"") && !strings.HasPrefix(f[0], "#") {
			out = append(out, f[0])
		}
	}
	return out
}

// TestWebhookStatusesAreGraphQLs: every booking status is sent as a value
// of the GraphQL enum.
func TestWebhookStatusesAreGraphQLs(t *testing.T) {
	want := graphQLBookingStatuses(t)
	for _, s := range []examgate.BookingStatus{examgate.BookingPending, examgate.BookingStarted, examgate.BookingCompleted, examgate.BookingCancelled, examgate.BookingNoShow} {
		if got := examgate.WebhookBookingStatus(s); !slices.Contains(want, got) {
			t.Errorf("%s is sent as %q, not one of %v", s, got, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tool finds a program the documented examples need; the Makefile lists
// Node.js and Python 3 as prerequisites of the tests.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed to check the partner guide's examples: install it", name)
	}
	return p
}
