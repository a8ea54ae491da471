// Package mail writes and sends examgate's emails: MIME messages, calendar
// files and the booking confirmations built from them. Senders are SMTP for
// production and Sink for the demo; mailtest is an SMTP server for tests.
package mail

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is an email with a plain-text body, an optional HTML alternative
// and attachments.
type Message struct {
	From        string // "Name <address>" or a bare address
	To          string // one address, or a comma-separated list
	Subject     string
	Text        string
	HTML        string // optional
	Attachments []Attachment
}

// Attachment is a file sent with a message.
type Attachment struct {
	Filename    string
	ContentType string // empty means application/octet-stream
	Data        []byte
}

// Recipients returns the bare addresses of To, for the SMTP envelope.
func (m *Message) Recipients() ([]string, error) {
	if strings.TrimSpace(m.To) == "" {
		return nil, errors.New("mail: the message has no recipient; set To")
	}
	list, err := netmail.ParseAddressList(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: To %q is not an email address (%v); fix the address", m.To, err)
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out, nil
}

// Bytes returns the message in RFC 5322 form, ready for SMTP DATA. The MIME
// boundaries derive from the Date and Message-ID, so the output depends only
// on m, now and messageID and a delivered message can be rebuilt exactly; an
// empty messageID gets a random one. CR or LF in a header field is refused
// because it would let a learner-supplied value add headers.
func (m *Message) Bytes(now time.Time, messageID string) ([]byte, error) {
	for _, f := range []struct{ name, value string }{
		{"From", m.From}, {"To", m.To}, {"Subject", m.Subject}, {"Message-ID", messageID},
	} {
		if err := checkHeader(f.name, f.value); err != nil {
			return nil, err
		}
	}
	for i, a := range m.Attachments {
		if err := checkHeader(fmt.Sprintf("attachment %d filename", i+1), a.Filename); err != nil {
			return nil, err
		}
		if err := checkHeader(fmt.Sprintf("attachment %d content type", i+1), a.ContentType); err != nil {
			return nil, err
		}
	}
	from, err := netmail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("mail: From %q is not an email address (%v); configure a sender such as \"examgate <no-reply@example.com>\"", m.From, err)
	}
	if _, err := m.Recipients(); err != nil {
		return nil, err
	}
	to, _ := netmail.ParseAddressList(m.To) // Recipients has checked it
	if messageID == "" {
		messageID = NewMessageID(from.Address)
	}
	id, err := formatMessageID(messageID)
	if err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	header(&buf, "From", from.String())
	toStrs := make([]string, len(to))
	for i, a := range to {
		toStrs[i] = a.String()
	}
	header(&buf, "To", strings.Join(toStrs, ", "))
	header(&buf, "Subject", encodeWord(m.Subject))
	header(&buf, "Date", now.Format(time.RFC1123Z))
	header(&buf, "Message-ID", id)
	header(&buf, "MIME-Version", "1.0")

	mw := multipart.NewWriter(&buf)
	// A boundary derived from the message keeps Bytes deterministic; "=_"
	// never occurs in quoted-printable or base64 output, so it cannot clash
	// with a body line.
	if err := mw.SetBoundary(boundary("mixed", now, id)); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	header(&buf, "Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mw.Boundary()}))
	buf.WriteString("\r\n")

	if m.HTML == "" {
		if err := writeTextPart(mw, "text/plain", m.Text); err != nil {
			return nil, err
		}
	} else {
		altBoundary := boundary("alt", now, id)
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": altBoundary}))
		alt, err := mw.CreatePart(h)
		if err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
		aw := multipart.NewWriter(alt)
		if err := aw.SetBoundary(altBoundary); err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
		if err := writeTextPart(aw, "text/plain", m.Text); err != nil {
			return nil, err
		}
		if err := writeTextPart(aw, "text/html", m.HTML); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
	}

	for _, a := range m.Attachments {
		if err := writeAttachment(mw, a); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	return buf.Bytes(), nil
}

// NewMessageID returns a random Message-ID in the domain of the address.
func NewMessageID(address string) string {
	domain := "examgate.invalid"
	if at := strings.LastIndexByte(address, '@'); at >= 0 && at < len(address)-1 {
		domain = strings.Trim(address[at+1:], "<> ")
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">"
}

func checkHeader(name, value string) error {
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("mail: %s contains a line break, which could inject email headers; remove CR and LF from it", name)
	}
	return nil
}

func formatMessageID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if !strings.HasPrefix(id, "<") {
		id = "<" + id + ">"
	}
	inner := id[1 : len(id)-1]
	if !strings.HasSuffix(id, ">") || strings.Count(inner, "@") != 1 || strings.ContainsAny(inner, " \t<>") || !isASCII(inner) {
		return "", fmt.Errorf("mail: Message-ID %q is not of the form <unique@domain>; pass an empty id to get a random one", id)
	}
	return id, nil
}

func boundary(kind string, now time.Time, id string) string {
	// Only what the headers show goes in, so that a message rebuilt from its
	// own Date and Message-ID is byte-identical.
	sum := sha256.Sum256([]byte(kind + "\x00" + now.Format(time.RFC1123Z) + "\x00" + id))
	return "=_" + kind + "_" + hex.EncodeToString(sum[:12])
}

func writeTextPart(mw *multipart.Writer, mediaType, body string) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", mediaType+"; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	w, err := mw.CreatePart(h)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	qp := quotedprintable.NewWriter(w)
	// The part claims UTF-8, so invalid bytes are replaced rather than sent.
	if _, err := io.WriteString(qp, strings.ToValidUTF8(body, "\uFFFD")); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}

func writeAttachment(mw *multipart.Writer, a Attachment) error {
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("mail: attachment %q: content type %q is invalid (%v); use a MIME type such as text/calendar", a.Filename, ct, err)
	}
	name := a.Filename
	if name == "" {
		name = "attachment"
	}
	if _, ok := params["name"]; !ok {
		params["name"] = name // older clients take the name from here
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", mime.FormatMediaType(mt, params))
	h.Set("Content-Transfer-Encoding", "base64")
	// FormatMediaType switches to RFC 2231 encoding for non-ASCII names.
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w, err := mw.CreatePart(h)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(a.Data)
	for len(enc) > 76 {
		if _, err := io.WriteString(w, enc[:76]+"\r\n"); err != nil {
			return fmt.Errorf("mail: %w", err)
		}
		enc = enc[76:]
	}
	if _, err := io.WriteString(w, enc+"\r\n"); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}

// header writes one header field, folded at spaces so that lines stay within
// the 78 characters RFC 5322 recommends. A long first word goes on its own
// line, which keeps a 75-character encoded-word within the 76 of RFC 2047.
func header(buf *bytes.Buffer, name, value string) {
	line := name + ":"
	for _, word := range strings.Split(value, " ") {
		// Folding before an empty word would leave a line of only white
		// space, which RFC 5322 forbids.
		if word != "" && len(line)+1+len(word) > 78 {
			buf.WriteString(line + "\r\n")
			line = ""
		}
		line += " " + word
	}
	buf.WriteString(line + "\r\n")
}

// encodeWord returns s, or RFC 2047 encoded-words when s is not plain ASCII.
func encodeWord(s string) string {
	if isASCII(s) {
		return s
	}
	return mime.QEncoding.Encode("utf-8", strings.ToValidUTF8(s, "\uFFFD"))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
