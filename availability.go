package examgate

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	// Embedded zone data: exam zones must load on hosts without a zoneinfo
	// database (slim containers), or the catalog would be rejected there.
	_ "time/tzdata"

	"gopkg.in/yaml.v3"
)

// Availability is when an exam can be sat: weekly opening hours in the exam's
// time zone, cut into slots, with dated exceptions.
type Availability struct {
	TimeZone    string              `yaml:"timeZone"`    // IANA name, e.g. Europe/Amsterdam
	SlotMinutes int                 `yaml:"slotMinutes"` // length of one sitting
	Seats       int                 `yaml:"seats"`       // candidates per slot
	LeadTime    Duration            `yaml:"leadTime"`    // earliest booking: now + lead time
	Weekly      map[string][]string `yaml:"weekly"`      // mon..sun → ["09:00-12:00", "13:00-17:00"]
	Exceptions  []Exception         `yaml:"exceptions"`

	loc *time.Location // loaded by validate
}

// Exception changes one local date: closed, or extra opening hours.
type Exception struct {
	Date   string   `yaml:"date"`   // YYYY-MM-DD in the exam's zone
	Closed bool     `yaml:"closed"` // no slots that day (weekly hours and extras)
	Hours  []string `yaml:"hours"`  // extra sessions that day, "HH:MM-HH:MM"
}

// Policy holds the booking rules of an exam; zero values take the defaults.
type Policy struct {
	CheckInBefore         Duration `yaml:"checkInBefore"`    // default 30m: Start opens this long before the slot
	CheckInAfter          Duration `yaml:"checkInAfter"`     // default 15m: and closes this long after its start
	CancelCutoff          Duration `yaml:"cancelCutoff"`     // default 24h before the slot
	RescheduleCutoff      Duration `yaml:"rescheduleCutoff"` // default 24h before the slot
	MaxReschedules        *int     `yaml:"maxReschedules"`   // default 3
	NoShowEndsEligibility bool     `yaml:"noShowEndsEligibility"`
}

// Duration is a time.Duration written as "30m" or "24h" in YAML.
type Duration time.Duration

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 30m or 24h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// fieldError names the catalog key at fault and what is wrong with it, so
// that ParseCatalog can report both next to the exam.
type fieldError struct{ key, problem string }

func (e *fieldError) Error() string { return e.key + ": " + e.problem }

// validateBooking checks the exam's availability and policy. An exam without
// availability is valid: it just cannot be booked.
func (e *Exam) validateBooking() *fieldError {
	if e.Availability != nil {
		if fe := e.Availability.validate(); fe != nil {
			fe.key = "availability." + fe.key
			return fe
		}
	}
	if fe := e.Policy.validate(); fe != nil {
		fe.key = "policy." + fe.key
		return fe
	}
	return nil
}

// weekdays are the keys of Weekly, indexed by time.Weekday.
var weekdays = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

const dateLayout = "2006-01-02"

// validate checks every field and loads the zone into loc.
func (a *Availability) validate() *fieldError {
	// "Local" would make slots depend on the host's zone, and "" is UTC by
	// accident rather than by choice.
	if a.TimeZone == "" || a.TimeZone == "Local" {
		return &fieldError{"timeZone", "set an IANA time zone such as Europe/Amsterdam"}
	}
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		return &fieldError{"timeZone", fmt.Sprintf("%q is not an IANA time zone such as Europe/Amsterdam", a.TimeZone)}
	}
	switch {
	case a.SlotMinutes < 5 || a.SlotMinutes > 600:
		return &fieldError{"slotMinutes", "must be between 5 and 600"}
	case a.Seats < 1 || a.Seats > 10000:
		return &fieldError{"seats", "must be between 1 and 10000"}
	}
	days := make([]string, 0, len(a.Weekly))
	for day := range a.Weekly {
		days = append(days, day)
	}
	slices.Sort(days) // report the same error on every run
	weekly := map[string][]dayWindow{}
	for _, day := range days {
		if !slices.Contains(weekdays[:], day) {
			return &fieldError{"weekly", fmt.Sprintf("%q is not a day: use mon, tue, wed, thu, fri, sat or sun", day)}
		}
		windows, problem := parseHours(a.Weekly[day])
		if problem != "" {
			return &fieldError{"weekly." + day, problem}
		}
		weekly[day] = windows
	}
	seen := map[string]bool{}
	for i, x := range a.Exceptions {
		key := fmt.Sprintf("exceptions[%d]", i)
		d, err := time.Parse(dateLayout, x.Date)
		switch {
		case err != nil || d.Format(dateLayout) != x.Date:
			return &fieldError{key + ".date", fmt.Sprintf("%q is not a date as YYYY-MM-DD", x.Date)}
		case seen[x.Date]:
			return &fieldError{key + ".date", x.Date + " appears twice: merge the two exceptions"}
		case x.Closed && len(x.Hours) > 0:
			return &fieldError{key, x.Date + " is both closed and given hours: choose one"}
		case !x.Closed && len(x.Hours) == 0:
			return &fieldError{key, x.Date + " changes nothing: set closed: true or list hours"}
		}
		seen[x.Date] = true
		windows, problem := parseHours(x.Hours)
		if problem != "" {
			return &fieldError{key + ".hours", problem}
		}
		// Extra hours that overlap the weekly ones would cut overlapping
		// slots, each with its own seats, so the room would be overbooked.
		day := weekdays[d.Weekday()]
		for _, s := range windows {
			for _, w := range weekly[day] {
				if s.start < w.end && w.start < s.end {
					return &fieldError{key + ".hours", fmt.Sprintf("%s overlaps the weekly %s hours %s on %s: list only the extra hours", s, day, w, x.Date)}
				}
			}
		}
	}
	a.loc = loc
	return nil
}

// Location returns the exam's time zone. Catalog exams have it loaded at
// parse time; an Availability built in code loads it on each call, and an
// unknown zone (which the catalog rejects) falls back to UTC.
func (a *Availability) Location() *time.Location {
	if a.loc != nil {
		return a.loc
	}
	if loc, err := time.LoadLocation(a.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// dayWindow is an opening window of one local date, in minutes after midnight;
// end may be 1440 (24:00).
type dayWindow struct{ start, end int }

func (s dayWindow) String() string { return hhmm(s.start) + "-" + hhmm(s.end) }

func hhmm(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

var rangeRE = regexp.MustCompile(`^(\d\d):(\d\d)-(\d\d):(\d\d)$`)

// parseRange reads "HH:MM-HH:MM"; the problem is empty when it is valid.
func parseRange(r string) (dayWindow, string) {
	m := rangeRE.FindStringSubmatch(r)
	if m == nil {
		return dayWindow{}, fmt.Sprintf("%q is not a range such as 09:00-12:00", r)
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1]) // two digits each: cannot fail
	}
	for _, hm := range [][2]int{{n[0], n[1]}, {n[2], n[3]}} {
		if hm[0] > 24 || hm[1] > 59 || hm[0] == 24 && hm[1] != 0 {
			return dayWindow{}, fmt.Sprintf("%q has a time outside 00:00-24:00", r)
		}
	}
	s := dayWindow{n[0]*60 + n[1], n[2]*60 + n[3]}
	if s.start >= s.end {
		return dayWindow{}, fmt.Sprintf("%q must end after it starts (use 24:00 for midnight)", r)
	}
	return s, ""
}

// parseHours reads the ranges of one day, sorted by start; the problem is
// empty when all are valid and none overlap.
func parseHours(ranges []string) ([]dayWindow, string) {
	windows := make([]dayWindow, 0, len(ranges))
	for _, r := range ranges {
		s, problem := parseRange(r)
		if problem != "" {
			return nil, problem
		}
		windows = append(windows, s)
	}
	slices.SortFunc(windows, func(x, y dayWindow) int { return x.start - y.start })
	for i := 1; i < len(windows); i++ {
		if windows[i].start < windows[i-1].end {
			return nil, fmt.Sprintf("%s and %s overlap", windows[i-1], windows[i])
		}
	}
	return windows, ""
}
