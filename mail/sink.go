package mail

import (
	"context"
	"slices"
	"sync"
	"time"
)

// sinkSize is how many messages a Sink keeps: enough for a demo page.
const sinkSize = 100

// Sent is a message a Sink took, with when it took it.
type Sent struct {
	At time.Time
	Message
}

// Sink is a Sender that keeps the last 100 messages in memory instead of
// delivering them, for the demo. The zero value is ready to use.
type Sink struct {
	// From is the From of messages that have none, as SMTP's sender is;
	// empty means "examgate <no-reply@localhost>".
	From string

	mu   sync.Mutex
	sent []Sent // oldest first
}

// Send validates m as SMTP would and keeps a copy of it.
func (s *Sink) Send(ctx context.Context, m *Message) error {
	if m == nil {
		return permanent(nil, "no message to send", "pass a *Message")
	}
	if err := ctx.Err(); err != nil {
		return contextError(err, "sending to the sink")
	}
	msg := *m
	msg.Attachments = make([]Attachment, len(m.Attachments))
	for i, a := range m.Attachments {
		a.Data = slices.Clone(a.Data)
		msg.Attachments[i] = a
	}
	if msg.From == "" {
		msg.From = s.From
	}
	if msg.From == "" {
		msg.From = "examgate <no-reply@localhost>"
	}
	// Rendering catches what SMTP would refuse, so the demo fails alike.
	if _, err := msg.Bytes(time.Now(), ""); err != nil {
		return permanent(err, "", "")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, Sent{At: time.Now(), Message: msg})
	if len(s.sent) > sinkSize {
		s.sent = slices.Clone(s.sent[len(s.sent)-sinkSize:])
	}
	return nil
}

// Messages returns the kept messages, newest first.
func (s *Sink) Messages() []Sent {
	s.mu.Lock()
	out := slices.Clone(s.sent)
	s.mu.Unlock()
	slices.Reverse(out)
	return out
}
