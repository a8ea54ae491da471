package mail_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/examgate/examgate/mail"
)

type icsProp struct {
	Name   string
	Params string // raw, e.g. "CN=Exam Team"
	Value  string // unescaped for the TEXT properties
}

var textProps = map[string]bool{"SUMMARY": true, "DESCRIPTION": true, "LOCATION": true, "UID": true, "X-WR-TIMEZONE": true}

// parseICS checks the physical lines (CRLF, at most 75 octets, whole UTF-8
// sequences), unfolds them and splits each content line into a property.
func parseICS(t *testing.T, data []byte) []icsProp {
	t.Helper()
	s := string(data)
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("calendar does not end with CRLF: %q", s)
	}
	var logical []string
	for i, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i+1, line)
		}
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if len(logical) == 0 {
				t.Fatal("calendar starts with a continuation line")
			}
			logical[len(logical)-1] += line[1:]
			continue
		}
		logical = append(logical, line)
	}
	var props []icsProp
	for _, l := range logical {
		// The name ends at the first ':' or ';' outside a quoted parameter.
		inQuote, colon := false, -1
		for i, r := range l {
			if r == '"' {
				inQuote = !inQuote
			}
			if r == ':' && !inQuote {
				colon = i
				break
			}
		}
		if colon < 0 {
			t.Fatalf("content line without ':': %q", l)
		}
		name, params, _ := strings.Cut(l[:colon], ";")
		p := icsProp{Name: name, Params: params, Value: l[colon+1:]}
		if textProps[name] {
			p.Value = unescapeText(t, p.Value)
		}
		props = append(props, p)
	}
	return props
}

func unescapeText(t *testing.T, v string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v):
			i++
			switch v[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			case '\\', ';', ',':
				b.WriteByte(v[i])
			default:
				t.Errorf("bad escape \\%c in %q", v[i], v)
			}
		case c == ';' || c == ',':
			t.Errorf("unescaped %q in TEXT value %q", c, v)
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// eventProps returns the properties of the only VEVENT by name, and checks
// the calendar's structure around it.
func eventProps(t *testing.T, props []icsProp) (cal, ev map[string]icsProp) {
	t.Helper()
	cal, ev = map[string]icsProp{}, map[string]icsProp{}
	var stack []string
	events := 0
	for _, p := range props {
		switch p.Name {
		case "BEGIN":
			stack = append(stack, p.Value)
			if p.Value == "VEVENT" {
				events++
			}
			continue
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != p.Value {
				t.Fatalf("END:%s does not close %v", p.Value, stack)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		target := cal
		if strings.Join(stack, "/") == "VCALENDAR/VEVENT" {
			target = ev
		} else if strings.Join(stack, "/") != "VCALENDAR" {
			t.Fatalf("%s outside VCALENDAR: %v", p.Name, stack)
		}
		if _, dup := target[p.Name]; dup {
			t.Errorf("%s appears twice", p.Name)
		}
		target[p.Name] = p
	}
	if len(stack) != 0 || events != 1 || props[0].Name != "BEGIN" || props[0].Value != "VCALENDAR" {
		t.Fatalf("want one VCALENDAR with one VEVENT; open %v, %d events", stack, events)
	}
	return cal, ev
}

func TestICSProperties(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	ev := mail.Event{
		UID:         "booking-42@examgate.example.com",
		Summary:     "Exam: Demo Certification Exam",
		Description: "Demo Certification Exam (DEMO-101).",
		Location:    "https://examgate.example.com/exams/DEMO-101",
		URL:         "https://examgate.example.com/exams/DEMO-101?a=1,2;b",
		Organizer:   "Exam Team <exams@example.com>",
		Start:       time.Date(2026, 11, 2, 9, 0, 0, 0, ny), // EST, the day after DST ends
		End:         time.Date(2026, 11, 2, 11, 0, 0, 0, ny),
		Stamp:       time.Date(2026, 10, 1, 8, 30, 0, 0, time.UTC),
		TimeZone:    "America/New_York",
		Sequence:    2,
	}
	cal, got := eventProps(t, parseICS(t, mail.ICS(ev)))
	wantCal := map[string]string{
		"PRODID": "-//examgate//examgate//EN", "VERSION": "2.0", "CALSCALE": "GREGORIAN",
		"METHOD": "PUBLISH", "X-WR-TIMEZONE": "America/New_York",
	}
	for name, want := range wantCal {
		if cal[name].Value != want {
			t.Errorf("%s = %q, want %q", name, cal[name].Value, want)
		}
	}
	wantEv := map[string]string{
		"UID":      ev.UID,
		"DTSTAMP":  "20261001T083000Z",
		"DTSTART":  "20261102T140000Z",
		"DTEND":    "20261102T160000Z",
		"SEQUENCE": "2",
		"STATUS":   "CONFIRMED",
		"SUMMARY":  ev.Summary,
		"LOCATION": ev.Location,
		"URL":      ev.URL,
	}
	for name, want := range wantEv {
		if got[name].Value != want {
			t.Errorf("%s = %q, want %q", name, got[name].Value, want)
		}
	}
	if o := got["ORGANIZER"]; o.Params != "CN=Exam Team" || o.Value != "mailto:exams@example.com" {
		t.Errorf("ORGANIZER = %+v", o)
	}
	desc := got["DESCRIPTION"].Value
	for _, want := range []string{ev.Description + "\n\n", "America/New_York", "Mon 2 Nov 2026, 09:00–11:00 EST", "in UTC"} {
		if !strings.Contains(desc, want) {
			t.Errorf("DESCRIPTION %q lacks %q", desc, want)
		}
	}
}

func TestICSCancel(t *testing.T) {
	ev := mail.Event{
		UID: "booking-1@x", Summary: "Cancelled: Exam",
		Start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
		Stamp: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Sequence: 3, Cancelled: true,
	}
	cal, got := eventProps(t, parseICS(t, mail.ICS(ev)))
	if cal["METHOD"].Value != "CANCEL" || got["STATUS"].Value != "CANCELLED" || got["SEQUENCE"].Value != "3" {
		t.Errorf("METHOD %q STATUS %q SEQUENCE %q", cal["METHOD"].Value, got["STATUS"].Value, got["SEQUENCE"].Value)
	}
	if _, ok := cal["X-WR-TIMEZONE"]; ok {
		t.Error("X-WR-TIMEZONE without a time zone")
	}
}

func TestICSEscaping(t *testing.T) {
	ev := mail.Event{
		UID:         "u@x",
		Summary:     `Exam; part 1, "A\B"`,
		Description: "Line one,\r\nline two; with \\ backslash\nline three\x00\x07",
		Location:    "Room 1, Floor 2; Building \\A",
		Start:       time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		End:         time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
		Stamp:       time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
	}
	raw := string(mail.ICS(ev))
	for _, want := range []string{`SUMMARY:Exam\; part 1\, "A\\B"`, `Line one\,\nline two\; with \\ backslash\nline three`} {
		if !strings.Contains(strings.ReplaceAll(raw, "\r\n ", ""), want) {
			t.Errorf("calendar lacks %s:\n%s", want, raw)
		}
	}
	_, got := eventProps(t, parseICS(t, []byte(raw)))
	if got["SUMMARY"].Value != ev.Summary {
		t.Errorf("SUMMARY = %q, want %q", got["SUMMARY"].Value, ev.Summary)
	}
	if want := "Line one,\nline two; with \\ backslash\nline three"; got["DESCRIPTION"].Value != want {
		t.Errorf("DESCRIPTION = %q, want %q (CRLF as one newline, controls dropped)", got["DESCRIPTION"].Value, want)
	}
	if got["LOCATION"].Value != ev.Location {
		t.Errorf("LOCATION = %q", got["LOCATION"].Value)
	}
}

func TestICSFoldsWithoutSplittingUTF8(t *testing.T) {
	// Multi-byte runes at every offset make some fold points fall inside a
	// sequence.
	for shift := range 4 {
		desc := strings.Repeat("x", shift) + strings.Repeat("Prüfung 試験 🎓, ", 20)
		ev := mail.Event{
			UID: "u@x", Summary: strings.Repeat("é", 60), Description: desc,
			Start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
			Stamp: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		}
		raw := mail.ICS(ev)
		if !strings.Contains(string(raw), "\r\n ") {
			t.Fatal("long lines were not folded")
		}
		_, got := eventProps(t, parseICS(t, raw)) // checks 75 octets and UTF-8 per line
		if got["DESCRIPTION"].Value != desc || got["SUMMARY"].Value != ev.Summary {
			t.Errorf("shift %d: unfolded values differ:\n%q\n%q", shift, got["DESCRIPTION"].Value, desc)
		}
	}
}
