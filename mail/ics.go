package mail

import (
	"bytes"
	"cmp"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/examgate/examgate/i18n"
)

// Event is one calendar entry.
type Event struct {
	UID         string // stable for the life of a booking, so updates replace it
	Summary     string
	Description string
	Location    string
	URL         string
	Organizer   string // an email address, optionally "Name <address>"
	Start       time.Time
	End         time.Time
	Stamp       time.Time // when this version was made; zero means now
	TimeZone    string    // IANA zone the slot was booked in, named for people
	Sequence    int       // bump on every change, so calendars apply it
	Cancelled   bool
	Lang        i18n.Lang // of the zone note; empty is English
}

const icsTime = "20060102T150405Z"

// ICS returns ev as an RFC 5545 calendar with one event. Times are written
// in UTC, which every calendar converts to the reader's zone without a
// VTIMEZONE block; the slot's zone is named in X-WR-TIMEZONE and in the
// description.
func ICS(ev Event) []byte {
	method, status := "PUBLISH", "CONFIRMED"
	if ev.Cancelled {
		method, status = "CANCEL", "CANCELLED"
	}
	stamp := ev.Stamp
	if stamp.IsZero() {
		stamp = time.Now()
	}
	desc := ev.Description
	if ev.TimeZone != "" {
		if desc != "" {
			desc += "\n\n"
		}
		desc += zoneNote(ev)
	}

	var b bytes.Buffer
	line := func(name, value string) { foldLine(&b, name+":"+value) }
	text := func(name, value string) {
		if value != "" {
			line(name, escapeText(value))
		}
	}
	line("BEGIN", "VCALENDAR")
	line("PRODID", "-//examgate//examgate//EN")
	line("VERSION", "2.0")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", method)
	text("X-WR-TIMEZONE", ev.TimeZone)
	line("BEGIN", "VEVENT")
	text("UID", ev.UID)
	line("DTSTAMP", stamp.UTC().Format(icsTime))
	line("DTSTART", ev.Start.UTC().Format(icsTime))
	line("DTEND", ev.End.UTC().Format(icsTime))
	line("SEQUENCE", strconv.Itoa(max(0, ev.Sequence)))
	line("STATUS", status)
	text("SUMMARY", ev.Summary)
	text("DESCRIPTION", desc)
	text("LOCATION", ev.Location)
	if u := stripControls(ev.URL); u != "" {
		// URL is a URI value, which RFC 5545 does not backslash-escape.
		line("URL", u)
	}
	if org, err := netmail.ParseAddress(ev.Organizer); err == nil {
		if name := paramValue(org.Name); name != "" {
			line("ORGANIZER;CN="+name, "mailto:"+org.Address)
		} else {
			line("ORGANIZER", "mailto:"+org.Address)
		}
	}
	line("TRANSP", "OPAQUE")
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return b.Bytes()
}

// zoneNote names the slot's zone and its local time, because the UTC times
// of the file show in the reader's own zone, which may not be the exam's.
func zoneNote(ev Event) string {
	l := cmp.Or(ev.Lang, i18n.English)
	loc, err := time.LoadLocation(ev.TimeZone)
	if err != nil {
		return l.T("ics.zone", ev.TimeZone)
	}
	return l.T("ics.zoneWhen", ev.TimeZone, formatRange(l, ev.Start, ev.End, loc))
}

// escapeText escapes a TEXT value (RFC 5545 3.3.11) and drops the control
// characters it may not contain.
func escapeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ';':
			b.WriteString(`\;`)
		case r == ',':
			b.WriteString(`\,`)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r == '\t' || (r >= 0x20 && r != 0x7f):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// paramValue quotes a parameter value when it holds ":", ";" or ",", and
// drops the DQUOTE and controls a parameter value cannot hold.
func paramValue(s string) string {
	s = strings.ReplaceAll(stripControls(s), `"`, "")
	if strings.ContainsAny(s, ":;,") {
		return `"` + s + `"`
	}
	return s
}

func stripControls(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// foldLine writes a content line with CRLF, folded so that no line exceeds
// 75 octets and no UTF-8 sequence is split (RFC 5545 3.1).
func foldLine(b *bytes.Buffer, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space of a continuation line counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}
