package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	dialTimeout = 10 * time.Second
	// deliveryTimeout bounds a whole delivery when ctx has no earlier
	// deadline, so that a server that stops answering cannot hold a worker.
	deliveryTimeout = time.Minute
)

// SMTP sends messages through an SMTP server, one connection per message.
type SMTP struct {
	addr        string // host:port
	host        string // verified against the TLS certificate
	implicitTLS bool
	user        string
	password    string
	from        string // From of messages that have none
	envelope    string // the bare address of from: MAIL FROM, and so bounces

	// Tests replace these to reach mailtest under another host name and to
	// trust its certificate.
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig *tls.Config
}

// NewSMTP configures delivery through the server of rawURL:
//
//	smtp://user:password@host:587  STARTTLS when offered, then AUTH PLAIN
//	smtps://user:password@host:465 TLS from the first byte
//	smtp://host:25                 no login
//
// The port defaults to 25 for smtp and 465 for smtps. The password is never
// sent unencrypted, except to localhost. from is the sender, e.g.
// "examgate <no-reply@example.com>": the From of messages that have none and
// always the envelope sender, so bounces reach it.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	// url errors can quote the URL, password included, so none is wrapped.
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mail: the SMTP URL is not valid; write it as smtp://user:password@host:587 or smtps://user:password@host:465, and percent-encode any of : / ? # @ % in the user or password")
	}
	s := &SMTP{}
	var port string
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		port = "25"
	case "smtps":
		port, s.implicitTLS = "465", true
	default:
		return nil, fmt.Errorf("mail: the SMTP URL has scheme %q; use smtp:// (STARTTLS when offered) or smtps:// (implicit TLS)", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("mail: the SMTP URL has no host; write it as smtp://user:password@host:587")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: the SMTP URL has port %q; use a number from 1 to 65535", p)
		}
		port = p
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("mail: the SMTP URL has a path, query or fragment, which are not supported; use only scheme://user:password@host:port")
	}
	if u.User != nil {
		s.user = u.User.Username()
		pw, ok := u.User.Password()
		if s.user == "" || !ok || pw == "" {
			return nil, errors.New("mail: the SMTP URL has a user but no password (or a password but no user); give both, as smtp://user:password@host:587, or neither")
		}
		s.password = pw
	}
	s.addr = net.JoinHostPort(s.host, port)

	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: sender %q is not an email address (%v); configure one such as \"examgate <no-reply@example.com>\"", from, err)
	}
	s.from, s.envelope = addr.String(), addr.Address
	return s, nil
}

// String describes the server for logs, without the password.
func (s *SMTP) String() string {
	scheme := "smtp"
	if s.implicitTLS {
		scheme = "smtps"
	}
	if s.user != "" {
		return scheme + "://" + url.User(s.user).String() + "@" + s.addr
	}
	return scheme + "://" + s.addr
}

// Send delivers m. Errors are *SendError: temporary for connection
// failures, timeouts, 4xx replies and an ended ctx; permanent for 5xx
// replies and invalid messages.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	if m == nil {
		return permanent(nil, "no message to send", "pass a *Message")
	}
	msg := *m
	if msg.From == "" {
		msg.From = s.from
	}
	rcpts, err := msg.Recipients()
	if err != nil {
		return permanent(err, "", "")
	}
	data, err := msg.Bytes(time.Now().UTC(), NewMessageID(s.envelope))
	if err != nil {
		return permanent(err, "", "")
	}
	if err := ctxErr(ctx); err != nil {
		return contextError(err, "sending via "+s.addr)
	}

	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(deliveryTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	// net/smtp takes no context: an expired deadline makes the blocked
	// read or write return as soon as ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return s.fail(ctx, err, "greeting from "+s.addr, "the server refuses connections from this host; check its relay or access settings")
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return s.fail(ctx, err, "EHLO to "+s.addr, "the server refused the greeting; check its access settings")
	}
	if !s.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tls()); err != nil {
				return s.fail(ctx, err, "STARTTLS with "+s.addr, "check the server's TLS certificate for "+s.host)
			}
		}
	}
	if s.user != "" {
		if err := s.login(ctx, c); err != nil {
			return err
		}
	}
	if err := c.Mail(s.envelope); err != nil {
		return s.fail(ctx, err, fmt.Sprintf("MAIL FROM:<%s> at %s", s.envelope, s.addr), "the server refuses this sender; configure a From address the server may send for")
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return s.fail(ctx, err, fmt.Sprintf("RCPT TO:<%s> at %s", r, s.addr), "the server refuses this recipient; check the address")
		}
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(ctx, err, "DATA at "+s.addr, "the server refuses to take the message")
	}
	if _, err := w.Write(data); err != nil {
		return s.fail(ctx, err, "writing the message to "+s.addr, "")
	}
	if err := w.Close(); err != nil {
		return s.fail(ctx, err, "end of message at "+s.addr, "the server refused the message; its reply says why (size, content or sender policy)")
	}
	// The server has accepted the message: a failed QUIT must not make the
	// caller send it again.
	_ = c.Quit()
	return nil
}

func (s *SMTP) connect(ctx context.Context) (net.Conn, error) {
	dial := s.dial
	if dial == nil {
		d := &net.Dialer{Timeout: dialTimeout}
		dial = d.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := dial(dctx, "tcp", s.addr)
	if err != nil {
		if err := ctxErr(ctx); err != nil {
			return nil, contextError(err, "connecting to "+s.addr)
		}
		return nil, temporary(err, "connecting to "+s.addr, "check the host and port of the SMTP URL and that the server is reachable from here; retrying later may succeed")
	}
	if !s.implicitTLS {
		return conn, nil
	}
	tc := tls.Client(conn, s.tls())
	if err := tc.HandshakeContext(dctx); err != nil {
		conn.Close()
		if err := ctxErr(ctx); err != nil {
			return nil, contextError(err, "TLS handshake with "+s.addr)
		}
		return nil, temporary(err, "TLS handshake with "+s.addr, "check that the port speaks TLS from the start (smtps://, usually 465; use smtp:// for 587 and 25) and that the certificate is valid for "+s.host)
	}
	return tc, nil
}

func (s *SMTP) login(ctx context.Context, c *smtp.Client) error {
	if _, isTLS := c.TLSConnectionState(); !isTLS && !isLocalhost(s.host) {
		return permanent(nil, "refusing to send the SMTP password to "+s.addr+" unencrypted",
			"the server does not offer STARTTLS; use smtps:// with the server's TLS port, or a server that offers STARTTLS")
	}
	if ok, _ := c.Extension("AUTH"); !ok {
		return permanent(nil, s.addr+" does not offer AUTH", "remove the user and password from the SMTP URL, or use the server's submission port (usually 587)")
	}
	// PLAIN is what submission servers offer over TLS; the user, never the
	// password, goes into errors.
	if err := c.Auth(smtp.PlainAuth("", s.user, s.password, s.host)); err != nil {
		return s.fail(ctx, err, fmt.Sprintf("login as %q at %s", s.user, s.addr), "check the user and password in the SMTP URL")
	}
	return nil
}

func (s *SMTP) tls() *tls.Config {
	cfg := &tls.Config{}
	if s.tlsConfig != nil {
		cfg = s.tlsConfig.Clone()
	}
	cfg.ServerName = s.host
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// fail classifies err from the conversation: 5xx replies are permanent and
// get hint5xx; 4xx replies, other codes, I/O errors and timeouts are
// temporary; an ended ctx wins, since it caused the I/O error.
func (s *SMTP) fail(ctx context.Context, err error, what, hint5xx string) error {
	if err := ctxErr(ctx); err != nil {
		return contextError(err, what)
	}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		e := &SendError{Code: reply.Code, Err: err, what: what}
		switch {
		case reply.Code == 530:
			e.hint = "the server requires a login; put the user and password in the SMTP URL"
		case reply.Code >= 500 && reply.Code < 600:
			e.hint = hint5xx
		default:
			e.Temporary = true
			e.hint = "the server is unavailable or limiting this sender for now; retrying later may succeed"
		}
		return e
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return temporary(err, what, fmt.Sprintf("the server did not answer in time; retrying later may succeed, and if it keeps happening check that %s is an SMTP server", s.addr))
	}
	return temporary(err, what, "the connection failed; retrying later may succeed")
}

// isLocalhost matches the hosts to which net/smtp's PlainAuth itself
// allows a password without TLS.
func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
