// Package mailtest is an in-process SMTP server for tests. It speaks enough
// SMTP for net/smtp (EHLO/HELO, optional STARTTLS and AUTH PLAIN, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT), records what it receives and can be made
// unavailable or to refuse messages.
package mailtest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TLSHost is a non-local name the server's certificate is valid for, next
// to localhost and 127.0.0.1, for tests of rules that depend on the host.
const TLSHost = "mail.example.test"

const maxData = 32 << 20

// Received is one message the server accepted.
type Received struct {
	From     string   // MAIL FROM address
	To       []string // RCPT TO addresses
	Data     []byte   // the DATA bytes, dot-unstuffed, CRLF line endings
	AuthUser string   // the user that logged in, or ""
	TLS      bool     // whether the message came over TLS
}

// Option configures a Server.
type Option func(*Server)

// WithSTARTTLS makes the server offer STARTTLS.
func WithSTARTTLS() Option { return func(s *Server) { s.startTLS = true } }

// WithImplicitTLS makes the server speak TLS from the first byte, as on
// port 465; URL then returns an smtps:// URL.
func WithImplicitTLS() Option { return func(s *Server) { s.implicitTLS = true } }

// WithAuth makes the server require AUTH PLAIN with user and password
// before MAIL FROM. Without it, any login is accepted and none is required.
func WithAuth(user, password string) Option {
	return func(s *Server) { s.user, s.password = user, password }
}

// Server is a running test SMTP server.
type Server struct {
	t           testing.TB
	ln          net.Listener
	startTLS    bool
	implicitTLS bool
	user        string
	password    string
	serverTLS   *tls.Config
	clientTLS   *tls.Config
	wg          sync.WaitGroup

	mu      sync.Mutex
	msgs    []Received
	changed chan struct{} // closed and replaced when a message arrives
	down    bool
	reject  int
	conns   map[net.Conn]struct{}
	closed  bool
}

// Start listens on 127.0.0.1 on a free port and serves until the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, changed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	for _, o := range opts {
		o(s)
	}
	if s.startTLS || s.implicitTLS {
		var err error
		if s.serverTLS, s.clientTLS, err = selfSigned(); err != nil {
			t.Fatalf("mailtest: making a certificate: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listening on 127.0.0.1: %v", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the server as an SMTP URL, without credentials.
func (s *Server) URL() string {
	if s.implicitTLS {
		return "smtps://" + s.Addr()
	}
	return "smtp://" + s.Addr()
}

// ClientTLSConfig trusts the server's certificate; nil without TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// SetDown makes the server answer new connections with "421 Service not
// available" and close them, a temporary failure, while down is true.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Reject makes the server answer the end of each message's DATA with code
// (e.g. 550 or 451) instead of accepting it; 0 accepts again.
func (s *Server) Reject(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = code
}

// WaitFor returns the messages once at least n arrived, and fails the test
// after timeout. Call it from the test's goroutine.
func (s *Server) WaitFor(n int, timeout time.Duration) []Received {
	s.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := slices.Clone(s.msgs)
			s.mu.Unlock()
			return out
		}
		changed, got := s.changed, len(s.msgs)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			s.t.Fatalf("mailtest: waited %v for %d messages, got %d", timeout, n, got)
			return nil
		}
	}
}

// Close stops the server and drops open connections; Start registers it
// with t.Cleanup.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = struct{}{}
		down := s.down
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			if down {
				fmt.Fprint(conn, "421 4.3.2 Service not available\r\n")
				return
			}
			s.serve(conn)
		}()
	}
}

type client struct {
	conn     net.Conn
	r        *bufio.Reader
	tls      bool
	helo     bool
	authUser string
	from     string
	to       []string
	inMail   bool
}

func (c *client) reply(format string, args ...any) bool {
	_, err := fmt.Fprintf(c.conn, format+"\r\n", args...)
	return err == nil
}

func (s *Server) serve(conn net.Conn) {
	c := &client{conn: conn}
	if s.implicitTLS {
		c.conn, c.tls = tls.Server(conn, s.serverTLS), true
	}
	c.r = bufio.NewReader(c.conn)
	if !c.reply("220 mailtest ESMTP ready") {
		return
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			c.helo = true
			c.resetMail()
			ext := []string{"mailtest", "8BITMIME", "SMTPUTF8"}
			if s.startTLS && !c.tls {
				ext = append(ext, "STARTTLS")
			}
			ext = append(ext, "AUTH PLAIN")
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				c.reply("250%s%s", sep, e)
			}
		case "HELO":
			c.helo = true
			c.resetMail()
			c.reply("250 mailtest")
		case "STARTTLS":
			if !s.startTLS || c.tls {
				c.reply("502 5.5.1 STARTTLS not offered")
				continue
			}
			c.reply("220 2.0.0 Ready to start TLS")
			c.conn, c.tls = tls.Server(c.conn, s.serverTLS), true
			c.r = bufio.NewReader(c.conn)
			c.helo, c.authUser = false, "" // RFC 3207: the client starts over
			c.resetMail()
		case "AUTH":
			s.auth(c, arg)
		case "MAIL":
			addr, ok := path(arg, "FROM:")
			switch {
			case !ok:
				c.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
			case !c.helo:
				c.reply("503 5.5.1 Send EHLO first")
			case s.user != "" && c.authUser == "":
				c.reply("530 5.7.0 Authentication required")
			case c.inMail:
				c.reply("503 5.5.1 Sender already given")
			default:
				c.from, c.inMail = addr, true
				c.reply("250 2.1.0 OK")
			}
		case "RCPT":
			addr, ok := path(arg, "TO:")
			switch {
			case !ok:
				c.reply("501 5.5.4 Syntax: RCPT TO:<address>")
			case !c.inMail:
				c.reply("503 5.5.1 Need MAIL before RCPT")
			default:
				c.to = append(c.to, addr)
				c.reply("250 2.1.5 OK")
			}
		case "DATA":
			if len(c.to) == 0 {
				c.reply("503 5.5.1 Need RCPT before DATA")
				continue
			}
			c.reply("354 End data with <CR><LF>.<CR><LF>")
			data, err := readData(c.r)
			if err != nil {
				if errors.Is(err, errTooBig) {
					c.reply("552 5.3.4 Message too big")
					c.resetMail()
					continue
				}
				return
			}
			s.mu.Lock()
			code := s.reject
			if code == 0 {
				// Recorded before the reply, so that a sender that got
				// its 250 always finds the message here.
				s.msgs = append(s.msgs, Received{From: c.from, To: slices.Clone(c.to), Data: data, AuthUser: c.authUser, TLS: c.tls})
				close(s.changed)
				s.changed = make(chan struct{})
			}
			s.mu.Unlock()
			c.resetMail()
			if code != 0 {
				c.reply("%d %d.0.0 Message rejected by mailtest", code, code/100)
			} else {
				c.reply("250 2.0.0 OK: queued")
			}
		case "RSET":
			c.resetMail()
			c.reply("250 2.0.0 OK")
		case "NOOP":
			c.reply("250 2.0.0 OK")
		case "QUIT":
			c.reply("221 2.0.0 Bye")
			return
		default:
			c.reply("502 5.5.2 Command not recognized")
		}
	}
}

func (c *client) resetMail() {
	c.from, c.to, c.inMail = "", nil, false
}

func (s *Server) auth(c *client, arg string) {
	mech, initial, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		c.reply("504 5.5.4 Only AUTH PLAIN is supported")
		return
	}
	if c.authUser != "" {
		c.reply("503 5.5.1 Already authenticated")
		return
	}
	if initial == "" {
		c.reply("334 ")
		line, err := c.r.ReadString('\n')
		if err != nil {
			return
		}
		initial = strings.TrimRight(line, "\r\n")
	}
	if initial == "*" {
		c.reply("501 5.0.0 Authentication cancelled")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 || parts[1] == "" {
		c.reply("501 5.5.2 Malformed AUTH PLAIN response")
		return
	}
	if s.user != "" && (parts[1] != s.user || parts[2] != s.password) {
		c.reply("535 5.7.8 Authentication credentials invalid")
		return
	}
	c.authUser = parts[1]
	c.reply("235 2.7.0 Authentication successful")
}

// path returns the address of "FROM:<a> PARAMS" or "TO:<a>".
func path(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

var errTooBig = errors.New("message too big")

// readData reads DATA up to the lone dot, undoing dot-stuffing and keeping
// every other byte as sent.
func readData(r *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	tooBig := false
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if string(line) == ".\r\n" || string(line) == ".\n" {
			if tooBig {
				return nil, errTooBig
			}
			return buf.Bytes(), nil
		}
		if line[0] == '.' {
			line = line[1:]
		}
		if buf.Len()+len(line) > maxData {
			tooBig = true // read on to the end, to stay in step with the client
			continue
		}
		buf.Write(line)
	}
}

func selfSigned() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost", TLSHost},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client, nil
}
