package mailtest_test

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/mail/mailtest"
)

func TestDeliveryDotUnstuffing(t *testing.T) {
	srv := mailtest.Start(t)
	body := "Subject: hi\r\n\r\n.leading dot\r\n..two dots\r\nlast line\r\n"
	if err := smtp.SendMail(srv.Addr(), nil, "from@example.com", []string{"a@example.com", "b@example.com"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
	m := got[0]
	if m.From != "from@example.com" || strings.Join(m.To, ",") != "a@example.com,b@example.com" {
		t.Errorf("envelope = %q → %q", m.From, m.To)
	}
	if !bytes.Equal(m.Data, []byte(body)) {
		t.Errorf("data = %q, want %q", m.Data, body)
	}
	if m.TLS || m.AuthUser != "" {
		t.Errorf("TLS = %v, AuthUser = %q; want neither", m.TLS, m.AuthUser)
	}
}

func TestDownAnswers421(t *testing.T) {
	srv := mailtest.Start(t)
	srv.SetDown(true)
	err := smtp.SendMail(srv.Addr(), nil, "f@example.com", []string{"t@example.com"}, []byte("x\r\n"))
	var tpe *textproto.Error
	if !errors.As(err, &tpe) || tpe.Code != 421 {
		t.Fatalf("err = %v, want a 421 reply", err)
	}
	srv.SetDown(false)
	if err := smtp.SendMail(srv.Addr(), nil, "f@example.com", []string{"t@example.com"}, []byte("x\r\n")); err != nil {
		t.Fatalf("after SetDown(false): %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("got %d messages, want 1", n)
	}
}

func TestReject(t *testing.T) {
	srv := mailtest.Start(t)
	srv.Reject(554)
	err := smtp.SendMail(srv.Addr(), nil, "f@example.com", []string{"t@example.com"}, []byte("x\r\n"))
	var tpe *textproto.Error
	if !errors.As(err, &tpe) || tpe.Code != 554 {
		t.Fatalf("err = %v, want a 554 reply", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("a rejected message was recorded: %d", n)
	}
}

func TestAuthRequired(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth("ada", "s3cret"))
	send := func(a smtp.Auth) error {
		return smtp.SendMail(srv.Addr(), a, "f@example.com", []string{"t@example.com"}, []byte("x\r\n"))
	}
	var tpe *textproto.Error
	if err := send(nil); !errors.As(err, &tpe) || tpe.Code != 530 {
		t.Errorf("without login: %v, want 530", err)
	}
	if err := send(smtp.PlainAuth("", "ada", "wrong", "127.0.0.1")); !errors.As(err, &tpe) || tpe.Code != 535 {
		t.Errorf("wrong password: %v, want 535", err)
	}
	if err := send(smtp.PlainAuth("", "ada", "s3cret", "127.0.0.1")); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].AuthUser != "ada" {
		t.Errorf("messages = %+v, want one from ada", got)
	}
}

func TestSTARTTLS(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS())
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	cfg := srv.ClientTLSConfig()
	cfg.ServerName = "127.0.0.1"
	if err := c.StartTLS(cfg); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered again inside TLS")
	}
	if err := c.Mail("f@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("t@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	if got := srv.Messages(); len(got) != 1 || !got[0].TLS {
		t.Errorf("messages = %+v, want one over TLS", got)
	}
}

func TestCommands(t *testing.T) {
	srv := mailtest.Start(t)
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	expect := func(send, wantPrefix string) {
		t.Helper()
		if send != "" {
			conn.Write([]byte(send + "\r\n"))
		}
		var last string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", send, err)
			}
			last = line
			if len(line) < 4 || line[3] != '-' {
				break
			}
		}
		if !strings.HasPrefix(last, wantPrefix) {
			t.Fatalf("after %q got %q, want %s…", send, last, wantPrefix)
		}
	}
	expect("", "220")
	expect("MAIL FROM:<a@example.com>", "503") // before EHLO
	expect("HELO client", "250")
	expect("RCPT TO:<b@example.com>", "503")
	expect("MAIL FROM:<a@example.com> BODY=8BITMIME", "250")
	expect("NOOP", "250")
	expect("RSET", "250")
	expect("DATA", "503")
	expect("MAIL FROM:<a@example.com>", "250")
	expect("RCPT TO:<b@example.com>", "250")
	expect("VRFY b", "502")
	expect("QUIT", "221")
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("got %d messages, want 0", n)
	}
}

func TestWaitForAsync(t *testing.T) {
	srv := mailtest.Start(t)
	errc := make(chan error, 1)
	go func() {
		errc <- smtp.SendMail(srv.Addr(), nil, "f@example.com", []string{"t@example.com"}, []byte("x\r\n"))
	}()
	if got := srv.WaitFor(1, 10*time.Second); len(got) != 1 {
		t.Errorf("WaitFor returned %d messages", len(got))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
