package mail

import (
	"bytes"
	"context"
	"errors"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/mail/mailtest"
)

const (
	sender = "examgate <no-reply@examgate.example.com>"
	secret = "pa:ss/w@rd%"
)

func newSMTP(t *testing.T, rawURL string) *SMTP {
	t.Helper()
	s, err := NewSMTP(rawURL, sender)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// via makes s reach srv whatever host its URL names, and trust srv's
// certificate.
func via(s *SMTP, srv *mailtest.Server) *SMTP {
	s.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr())
	}
	s.tlsConfig = srv.ClientTLSConfig()
	return s
}

func testMessage() *Message {
	return &Message{
		To:      "Ada Lovelace <ada@example.com>",
		Subject: "Your exam is booked: Demo Certification Exam on Mon 2 Nov 2026 at 09:00 EST",
		Text:    "Hello Ada,\n.\n..a line that starts with dots\nBye\n",
		Attachments: []Attachment{{
			Filename: "exam-DEMO-101.ics", ContentType: "text/calendar; charset=utf-8; method=PUBLISH",
			Data: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
		}},
	}
}

func noSecret(t *testing.T, err error) {
	t.Helper()
	for _, part := range []string{secret, "pa:ss", "w@rd"} {
		if err != nil && strings.Contains(err.Error(), part) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func sendError(t *testing.T, err error) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *SendError", err, err)
	}
	return se
}

func TestNewSMTP(t *testing.T) {
	good := map[string]struct{ addr, user, str string }{
		"smtp://user:pass@smtp.example.com:587":  {"smtp.example.com:587", "user", "smtp://user@smtp.example.com:587"},
		"smtps://smtp.example.com":               {"smtp.example.com:465", "", "smtps://smtp.example.com:465"},
		"smtp://relay.internal":                  {"relay.internal:25", "", "smtp://relay.internal:25"},
		"SMTP://[::1]:2525/":                     {"[::1]:2525", "", "smtp://[::1]:2525"},
		"smtp://u%40x:pa%3Ass%2Fw%40rd%25@h:587": {"h:587", "u@x", "smtp://u%40x@h:587"},
	}
	for raw, want := range good {
		s, err := NewSMTP(raw, sender)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if s.addr != want.addr || s.user != want.user || s.String() != want.str || s.envelope != "no-reply@examgate.example.com" {
			t.Errorf("%s: addr %q user %q String %q envelope %q", raw, s.addr, s.user, s.String(), s.envelope)
		}
	}
	if s, _ := NewSMTP("smtp://u%40x:pa%3Ass%2Fw%40rd%25@h:587", sender); s.password != secret {
		t.Errorf("decoded password = %q", s.password)
	}

	bad := []string{
		"http://smtp.example.com",
		"smtp://",
		"smtp://host:0",
		"smtp://host:99999",
		"smtp://host:25/path",
		"smtp://host:25?tls=1",
		"smtp://user@host:587",
		"smtp://user:" + secret + "@host:587", // unescaped: url.Parse fails, quoting the password
		"smtp://user:pa ss/w@rd%@host:587",
		"::not a url",
	}
	for _, raw := range bad {
		_, err := NewSMTP(raw, sender)
		if err == nil {
			t.Errorf("%s accepted", raw)
		}
		noSecret(t, err)
		if err != nil && strings.Contains(err.Error(), "pa ss") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if _, err := NewSMTP("smtp://host:25", "not an address"); err == nil {
		t.Error("bad sender accepted")
	}
}

func TestSMTPDeliversExactBytes(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSMTP(t, srv.URL())
	m := testMessage()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(1, 5*time.Second)[0]
	if got.From != "no-reply@examgate.example.com" || strings.Join(got.To, ",") != "ada@example.com" {
		t.Errorf("envelope %q → %q", got.From, got.To)
	}
	parsed, err := netmail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	date, err := parsed.Header.Date()
	if err != nil {
		t.Fatal(err)
	}
	want := *m
	want.From = sender
	wantBytes, err := want.Bytes(date, parsed.Header.Get("Message-ID"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, wantBytes) {
		t.Errorf("delivered bytes differ from Message.Bytes:\ngot:\n%s\nwant:\n%s", got.Data, wantBytes)
	}
	if m.From != "" {
		t.Error("Send changed the caller's message")
	}
}

func TestSMTPDownIsTemporaryThenDelivers(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSMTP(t, srv.URL())
	srv.SetDown(true)
	err := s.Send(context.Background(), testMessage())
	if !IsTemporary(err) || sendError(t, err).Code != 421 {
		t.Fatalf("down: err = %v, want a temporary 421", err)
	}
	srv.SetDown(false)
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("got %d messages, want 1", n)
	}
}

func TestSMTPReplyClasses(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSMTP(t, srv.URL())
	srv.Reject(550)
	err := s.Send(context.Background(), testMessage())
	if err == nil || IsTemporary(err) || sendError(t, err).Code != 550 {
		t.Fatalf("550: err = %v, want permanent", err)
	}
	if !strings.Contains(err.Error(), "refused the message") {
		t.Errorf("550 error does not say what happened: %v", err)
	}
	srv.Reject(451)
	if err := s.Send(context.Background(), testMessage()); !IsTemporary(err) || sendError(t, err).Code != 451 {
		t.Fatalf("451: err = %v, want temporary", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("rejected messages recorded: %d", n)
	}
}

func TestSMTPConnectionRefusedIsTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	err = newSMTP(t, "smtp://"+addr).Send(context.Background(), testMessage())
	if !IsTemporary(err) || !strings.Contains(err.Error(), "connecting to "+addr) {
		t.Fatalf("err = %v, want a temporary connection error", err)
	}
}

func TestSMTPInvalidMessageIsPermanent(t *testing.T) {
	srv := mailtest.Start(t)
	m := testMessage()
	m.Subject = "hi\r\nBcc: victim@example.com"
	err := newSMTP(t, srv.URL()).Send(context.Background(), m)
	if err == nil || IsTemporary(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("the message was sent")
	}
}

// silentServer accepts connections and never answers; accepted receives a
// value per connection.
func silentServer(t *testing.T) (addr string, accepted <-chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 10)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), ch
}

func TestSMTPHonoursContext(t *testing.T) {
	t.Run("already cancelled", func(t *testing.T) {
		srv := mailtest.Start(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := newSMTP(t, srv.URL()).Send(ctx, testMessage())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if len(srv.Messages()) != 0 {
			t.Error("sent despite the cancelled context")
		}
	})
	t.Run("cancelled while the server is silent", func(t *testing.T) {
		addr, accepted := silentServer(t)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-accepted; cancel() }()
		err := newSMTP(t, "smtp://"+addr).Send(ctx, testMessage())
		if !errors.Is(err, context.Canceled) || !IsTemporary(err) {
			t.Fatalf("err = %v, want a temporary context.Canceled", err)
		}
	})
	t.Run("deadline while the server is silent", func(t *testing.T) {
		addr, _ := silentServer(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := newSMTP(t, "smtp://"+addr).Send(ctx, testMessage())
		if !errors.Is(err, context.DeadlineExceeded) || !IsTemporary(err) {
			t.Fatalf("err = %v, want a temporary context.DeadlineExceeded", err)
		}
	})
}

func TestSMTPAuth(t *testing.T) {
	t.Run("plain text to localhost", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithAuth("ada", secret))
		s := newSMTP(t, "smtp://ada:pa%3Ass%2Fw%40rd%25@"+srv.Addr())
		if err := s.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
		if got := srv.Messages(); len(got) != 1 || got[0].AuthUser != "ada" || got[0].TLS {
			t.Errorf("messages = %+v", got)
		}
	})
	t.Run("wrong password is permanent", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithAuth("ada", "other"))
		err := newSMTP(t, "smtp://ada:pa%3Ass%2Fw%40rd%25@"+srv.Addr()).Send(context.Background(), testMessage())
		if err == nil || IsTemporary(err) || sendError(t, err).Code != 535 || !strings.Contains(err.Error(), "check the user and password") {
			t.Fatalf("err = %v, want a permanent 535", err)
		}
		noSecret(t, err)
	})
	t.Run("no TLS to a remote host: refused before AUTH", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithAuth("ada", secret))
		s := via(newSMTP(t, "smtp://ada:pa%3Ass%2Fw%40rd%25@"+mailtest.TLSHost+":587"), srv)
		err := s.Send(context.Background(), testMessage())
		if err == nil || IsTemporary(err) || !strings.Contains(err.Error(), "unencrypted") {
			t.Fatalf("err = %v, want a permanent refusal", err)
		}
		noSecret(t, err)
	})
	t.Run("STARTTLS to a remote host", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("ada", secret))
		s := via(newSMTP(t, "smtp://ada:pa%3Ass%2Fw%40rd%25@"+mailtest.TLSHost+":587"), srv)
		if err := s.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
		if got := srv.Messages(); len(got) != 1 || got[0].AuthUser != "ada" || !got[0].TLS {
			t.Errorf("messages = %+v, want one over TLS from ada", got)
		}
	})
	t.Run("implicit TLS", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithImplicitTLS(), mailtest.WithAuth("ada", secret))
		s := via(newSMTP(t, "smtps://ada:pa%3Ass%2Fw%40rd%25@"+mailtest.TLSHost+":465"), srv)
		if err := s.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
		if got := srv.Messages(); len(got) != 1 || !got[0].TLS {
			t.Errorf("messages = %+v, want one over TLS", got)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("ada", secret))
		s := via(newSMTP(t, "smtp://ada:pa%3Ass%2Fw%40rd%25@"+mailtest.TLSHost+":587"), srv)
		s.tlsConfig = nil // the system roots do not know mailtest
		err := s.Send(context.Background(), testMessage())
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v, want a certificate error", err)
		}
		noSecret(t, err)
		if len(srv.Messages()) != 0 {
			t.Error("sent over an untrusted connection")
		}
	})
}

func TestSinkKeepsNewestFirst(t *testing.T) {
	var s Sink
	for i := range sinkSize + 5 {
		m := testMessage()
		m.Subject = "n" + strings.Repeat("x", i)
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	got := s.Messages()
	if len(got) != sinkSize {
		t.Fatalf("kept %d, want %d", len(got), sinkSize)
	}
	if len(got[0].Subject) != sinkSize+5 || len(got[sinkSize-1].Subject) != 6 {
		t.Errorf("order: first %q, last %q", got[0].Subject, got[sinkSize-1].Subject)
	}
	if got[0].From != "examgate <no-reply@localhost>" || got[0].At.IsZero() {
		t.Errorf("From %q At %v", got[0].From, got[0].At)
	}

	bad := testMessage()
	bad.To = "x@example.com\nBcc: y@example.com"
	if err := s.Send(context.Background(), bad); err == nil || IsTemporary(err) {
		t.Errorf("header injection: err = %v, want permanent", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, testMessage()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}

	// The sink keeps a copy: the caller may reuse its message.
	m := testMessage()
	_ = s.Send(context.Background(), m)
	m.Attachments[0].Data[0] = 'X'
	if s.Messages()[0].Attachments[0].Data[0] != 'B' {
		t.Error("the sink shares attachment bytes with the caller")
	}
}

func TestSinkConcurrent(t *testing.T) {
	var s Sink
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 20 {
				_ = s.Send(context.Background(), testMessage())
				_ = s.Messages()
			}
		}()
	}
	for range 8 {
		<-done
	}
	if n := len(s.Messages()); n != sinkSize {
		t.Errorf("kept %d, want %d", n, sinkSize)
	}
}
