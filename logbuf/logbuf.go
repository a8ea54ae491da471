// Package logbuf buffers log output, so that a busy server pays one write
// to its log for many lines instead of one a line.
//
// A Writer holds whole lines in memory and writes them out once they pass
// its size, when its interval has passed since the first line held, when
// asked (Flush; Handler asks after every warning or error) and on Close.
// It never splits a line: a Write is kept whole, and the bytes after the
// last newline wait for the rest of their line.
package logbuf

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Defaults of New: lines are at most Interval late, and one write carries
// about Size bytes of them.
const (
	Size     = 32 << 10
	Interval = 100 * time.Millisecond
)

// Writer is a buffered log output, safe for concurrent use.
type Writer struct {
	out      io.Writer
	size     int
	interval time.Duration
	// after arms the interval's flush; tests replace it to fire the flush
	// themselves.
	after func(d time.Duration, f func()) (stop func() bool)

	mu      sync.Mutex
	buf     []byte
	pending bool        // a flush after the interval is armed
	stop    func() bool // stops it
	closed  bool
	err     error // of the last write out, returned once
}

// New returns a Writer onto out with the default size and interval.
func New(out io.Writer) *Writer { return NewSize(out, Size, Interval) }

// NewSize returns a Writer onto out that writes once size bytes are held
// and at most interval after the first line was held.
func NewSize(out io.Writer, size int, interval time.Duration) *Writer {
	return &Writer{out: out, size: size, interval: interval, buf: make([]byte, 0, 2*size), after: afterFunc}
}

func afterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Write holds a copy of p; it writes out the lines held once they pass the
// Writer's size. After Close it writes p straight through.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= w.size {
		if err := w.flushLocked(false); err != nil {
			return len(p), err
		}
	}
	if len(w.buf) > 0 && !w.pending {
		w.pending = true
		w.stop = w.after(w.interval, w.tick)
	}
	return len(p), nil
}

func (w *Writer) tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = false
	if w.closed {
		return
	}
	_ = w.flushLocked(false)
	if len(w.buf) > 0 { // a line not yet ended: look again later
		w.pending = true
		w.stop = w.after(w.interval, w.tick)
	}
}

// Flush writes out every whole line held.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked(false)
}

// Close writes out everything held, an unended line too, and makes later
// writes go straight through, so that nothing logged during shutdown is
// lost.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.pending {
		w.stop()
		w.pending = false
	}
	return w.flushLocked(true)
}

// flushLocked writes out the whole lines held, or with all everything, in
// one write. w.mu is held: lines are written in the order they came.
func (w *Writer) flushLocked(all bool) error {
	n := len(w.buf)
	if !all {
		n = bytes.LastIndexByte(w.buf, '\n') + 1
	}
	if n > 0 {
		_, err := w.out.Write(w.buf[:n])
		if err != nil && w.err == nil {
			w.err = err
		}
		w.buf = w.buf[:copy(w.buf, w.buf[n:])]
	}
	err := w.err
	w.err = nil
	return err
}

// Handler passes records to its slog.Handler, which writes to W, and
// flushes W after each record at slog.LevelWarn or above, so that warnings
// and errors are never late.
type Handler struct {
	slog.Handler
	W *Writer
}

// Handle implements slog.Handler.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.W.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// WithAttrs implements slog.Handler.
func (h Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return Handler{h.Handler.WithAttrs(as), h.W}
}

// WithGroup implements slog.Handler.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{h.Handler.WithGroup(name), h.W}
}
