package mail_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/mail"
)

var now = time.Date(2026, 11, 2, 14, 30, 5, 0, time.UTC)

type part struct {
	contentType string
	params      map[string]string
	filename    string
	body        []byte
}

// parseMessage parses raw with net/mail and mime/multipart, descending into
// nested multiparts, and returns the header and the leaf parts in order.
func parseMessage(t *testing.T, raw []byte) (netmail.Header, []part) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type = %q (%v), want multipart/mixed", msg.Header.Get("Content-Type"), err)
	}
	var parts []part
	var walk func(r io.Reader, boundary string)
	walk = func(r io.Reader, boundary string) {
		mr := multipart.NewReader(r, boundary)
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("reading parts: %v", err)
			}
			mt, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if err != nil {
				t.Fatalf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
			}
			if strings.HasPrefix(mt, "multipart/") {
				walk(p, params["boundary"])
				continue
			}
			body, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if p.Header.Get("Content-Transfer-Encoding") == "base64" {
				if body, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(body))); err != nil {
					t.Fatalf("attachment base64: %v", err)
				}
			}
			parts = append(parts, part{contentType: mt, params: params, filename: p.FileName(), body: body})
		}
	}
	walk(msg.Body, params["boundary"])
	return msg.Header, parts
}

func TestBytesRoundTrip(t *testing.T) {
	binary := make([]byte, 1000)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	text := "Hello Zoë,\n\n.a line starting with a dot\nFrom the start\n1 + 1 = 2\n" + strings.Repeat("long line ", 30) + "\nend"
	m := &mail.Message{
		From:    "examgate <no-reply@example.com>",
		To:      "Zoë Ñúñez <zoe@example.com>",
		Subject: "Prüfung gebucht: Démo Certification Exam on Mon 2 Nov 2026 at 09:00 EST, with a long tail to force folding",
		Text:    text,
		HTML:    "<p>Hello Zoë</p>",
		Attachments: []mail.Attachment{
			{Filename: "exam-DEMO-101.ics", ContentType: "text/calendar; charset=utf-8; method=PUBLISH", Data: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")},
			{Filename: "prüfung.bin", Data: binary},
		},
	}
	raw, err := m.Bytes(now, "<abc123@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	inHeader := true
	for i, line := range strings.SplitAfter(string(raw), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\r\n") || strings.Contains(strings.TrimSuffix(line, "\r\n"), "\r") {
			t.Fatalf("line %d is not CRLF-terminated: %q", i+1, line)
		}
		inHeader = inHeader && line != "\r\n"
		// RFC 5322: 998 octets at most, 78 recommended (kept in the
		// message header, where learner-supplied text goes).
		if len(line) > 998+2 || (inHeader && len(line) > 78+2 && !strings.Contains(line, "boundary=")) {
			t.Errorf("line %d is %d octets: %q", i+1, len(line)-2, line)
		}
	}
	if again, _ := m.Bytes(now, "<abc123@example.com>"); !bytes.Equal(raw, again) {
		t.Error("Bytes is not deterministic for the same now and Message-ID")
	}

	h, parts := parseMessage(t, raw)
	dec := new(mime.WordDecoder)
	if got, err := dec.DecodeHeader(h.Get("Subject")); err != nil || got != m.Subject {
		t.Errorf("Subject = %q (%v), want %q", got, err, m.Subject)
	}
	if !strings.Contains(h.Get("Subject"), "=?utf-8?q?") {
		t.Errorf("non-ASCII Subject is not Q-encoded: %q", h.Get("Subject"))
	}
	if to, err := netmail.ParseAddress(h.Get("To")); err != nil || to.Name != "Zoë Ñúñez" || to.Address != "zoe@example.com" {
		t.Errorf("To = %q → %+v (%v)", h.Get("To"), to, err)
	}
	if from, err := netmail.ParseAddress(h.Get("From")); err != nil || from.Name != "examgate" || from.Address != "no-reply@example.com" {
		t.Errorf("From = %q → %+v (%v)", h.Get("From"), from, err)
	}
	if d, err := h.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date = %q (%v), want %v", h.Get("Date"), err, now)
	}
	if got := h.Get("Message-ID"); got != "<abc123@example.com>" {
		t.Errorf("Message-ID = %q", got)
	}
	if got := h.Get("MIME-Version"); got != "1.0" {
		t.Errorf("MIME-Version = %q", got)
	}

	if len(parts) != 4 {
		t.Fatalf("got %d leaf parts, want text, html and 2 attachments", len(parts))
	}
	if p := parts[0]; p.contentType != "text/plain" || p.params["charset"] != "utf-8" || strings.ReplaceAll(string(p.body), "\r\n", "\n") != text {
		t.Errorf("text part = %s %v %q", p.contentType, p.params, p.body)
	}
	if p := parts[1]; p.contentType != "text/html" || string(p.body) != m.HTML {
		t.Errorf("html part = %s %q", p.contentType, p.body)
	}
	for i, a := range m.Attachments {
		p := parts[2+i]
		if p.filename != a.Filename || !bytes.Equal(p.body, a.Data) {
			t.Errorf("attachment %d = %q (%d bytes), want %q (%d bytes)", i, p.filename, len(p.body), a.Filename, len(a.Data))
		}
	}
	if p := parts[2]; p.contentType != "text/calendar" || p.params["method"] != "PUBLISH" {
		t.Errorf("calendar part type = %s %v", p.contentType, p.params)
	}
	if p := parts[3]; p.contentType != "application/octet-stream" {
		t.Errorf("untyped attachment = %s", p.contentType)
	}
}

func TestBytesPlainTextOnly(t *testing.T) {
	m := &mail.Message{From: "a@example.com", To: "b@example.com, c@example.com", Subject: "Plain", Text: "Hi"}
	raw, err := m.Bytes(now, "")
	if err != nil {
		t.Fatal(err)
	}
	h, parts := parseMessage(t, raw)
	if h.Get("Subject") != "Plain" || !strings.HasPrefix(h.Get("Message-ID"), "<") || !strings.HasSuffix(h.Get("Message-ID"), "@example.com>") {
		t.Errorf("Subject %q, generated Message-ID %q", h.Get("Subject"), h.Get("Message-ID"))
	}
	if len(parts) != 1 || parts[0].contentType != "text/plain" || string(parts[0].body) != "Hi" {
		t.Errorf("parts = %+v", parts)
	}
	if got, _ := m.Recipients(); strings.Join(got, " ") != "b@example.com c@example.com" {
		t.Errorf("Recipients = %q", got)
	}
}

func TestBytesRefusesHeaderInjection(t *testing.T) {
	base := mail.Message{From: "a@example.com", To: "b@example.com", Subject: "s", Text: "t"}
	cases := map[string]func(m *mail.Message) string{
		"Subject CRLF": func(m *mail.Message) string { m.Subject = "Booked\r\nBcc: victim@example.com"; return "" },
		"Subject LF":   func(m *mail.Message) string { m.Subject = "Booked\nBcc: victim@example.com"; return "" },
		"To":           func(m *mail.Message) string { m.To = "b@example.com\r\nBcc: victim@example.com"; return "" },
		"From":         func(m *mail.Message) string { m.From = "a@example.com\rX: y"; return "" },
		"filename": func(m *mail.Message) string {
			m.Attachments = []mail.Attachment{{Filename: "a.ics\r\nX-Evil: 1", Data: []byte("x")}}
			return ""
		},
		"content type": func(m *mail.Message) string {
			m.Attachments = []mail.Attachment{{Filename: "a.ics", ContentType: "text/plain\nX-Evil: 1"}}
			return ""
		},
		"Message-ID": func(m *mail.Message) string { return "<a@b>\r\nBcc: victim@example.com" },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			m := base
			id := edit(&m)
			raw, err := m.Bytes(now, id)
			if err == nil {
				t.Fatalf("accepted:\n%s", raw)
			}
			if !strings.Contains(err.Error(), "line break") {
				t.Errorf("error %q does not say what is wrong", err)
			}
		})
	}
}

func TestBytesRefusesBadAddresses(t *testing.T) {
	for _, m := range []mail.Message{
		{From: "", To: "b@example.com"},
		{From: "not an address", To: "b@example.com"},
		{From: "a@example.com", To: ""},
		{From: "a@example.com", To: "nobody"},
	} {
		if _, err := m.Bytes(now, ""); err == nil {
			t.Errorf("From %q To %q accepted", m.From, m.To)
		}
	}
	m := mail.Message{From: "a@example.com", To: "b@example.com"}
	if _, err := m.Bytes(now, "no-at-sign"); err == nil {
		t.Error("Message-ID without @ accepted")
	}
}
