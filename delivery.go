package examgate

import (
	"math"
	"time"
)

// Delivery is how an exam is sat in the browser: its items, timing and
// scoring. An exam without a delivery can be booked but not started.
type Delivery struct {
	DurationMinutes int      `yaml:"durationMinutes"`
	PassMark        float64  `yaml:"passMark"`     // percent of the maximum score, 0-100
	MaxAttempts     int      `yaml:"maxAttempts"`  // per candidate; 0 means 1
	ShuffleItems    bool     `yaml:"shuffleItems"` // per attempt, seeded, stable across reloads
	ShuffleOptions  bool     `yaml:"shuffleOptions"`
	PartialCredit   bool     `yaml:"partialCredit"` // multiple response: credit per option instead of all-or-nothing
	ShowReview      bool     `yaml:"showReview"`    // the candidate may see per-item results
	OnDemand        bool     `yaml:"onDemand"`      // start at once, without booking a slot
	Grace           Duration `yaml:"grace"`         // accepted lateness of saves; default 30s
	// Items, Sections or ItemsFile (a YAML file with `sections:` or
	// `items:`, relative to the catalog file) hold the content.
	Items     []Item    `yaml:"items"`
	Sections  []Section `yaml:"sections"`
	ItemsFile string    `yaml:"itemsFile"`

	// Filled when the catalog is loaded, because Item and Present run on
	// every answer save and attempt read: items by id and rendered stems.
	byID     map[string]*Item
	stemHTML map[string]string
}

// Section groups items under a title.
type Section struct {
	Title string `yaml:"title"`
	Items []Item `yaml:"items"`
}

// Item types.
const (
	ItemSingle    = "single"    // one correct option
	ItemMultiple  = "multiple"  // several correct options
	ItemTrueFalse = "truefalse" // options "true" and "false"
)

// Item is one question.
type Item struct {
	ID      string   `yaml:"id"`
	Type    string   `yaml:"type"`
	Stem    string   `yaml:"stem"` // Markdown; rendered without raw HTML
	Options []Option `yaml:"options"`
	Correct []string `yaml:"correct"` // option ids; never sent to the browser
	Points  float64  `yaml:"points"`  // default 1
}

// Option is one answer choice.
type Option struct {
	ID   string `yaml:"id"`
	Text string `yaml:"text"`
}

// AttemptStatus is where an attempt is.
type AttemptStatus string

// Attempt states: open → submitted (by the candidate) or timed_out (by the
// clock: at the deadline or by the sweep).
const (
	AttemptOpen      AttemptStatus = "open"
	AttemptSubmitted AttemptStatus = "submitted"
	AttemptTimedOut  AttemptStatus = "timed_out"
)

// Attempt is one sitting of an exam.
type Attempt struct {
	ID          int64
	CandidateID int64
	ExamCode    string
	BookingID   int64 // 0 for an on-demand exam
	Seed        int64 // orders items and options for this attempt
	StartedAt   time.Time
	Deadline    time.Time // start + duration × accommodation; saves are accepted until Deadline + grace
	Status      AttemptStatus
	EndedAt     time.Time // zero while open
}

// Answer is the saved response to one item.
type Answer struct {
	ItemID    string
	Choices   []string
	Flagged   bool
	ClientSeq int64 // the browser's counter: a lower one never overwrites a higher one
	SavedAt   time.Time
}

// ItemResult is the scoring of one item, kept for staff review.
type ItemResult struct {
	ItemID    string   `json:"itemId"`
	Choices   []string `json:"choices"`
	Correct   bool     `json:"correct"`
	Points    float64  `json:"points"`
	MaxPoints float64  `json:"maxPoints"`
}

// Score is the outcome of an attempt.
type Score struct {
	Points    float64
	MaxPoints float64
	Percent   float64 // rounded to two decimals
	PassMark  float64
	Passed    bool
	Items     []ItemResult
}

// Result is the stored outcome of a completed attempt; the TI result job
// delivers it.
type Result struct {
	ID          int64
	AttemptID   int64
	CandidateID int64
	ExamCode    string
	Score
	CreatedAt time.Time
}

// defaultGrace is the accepted lateness of saves when the catalog sets none:
// enough for a save sent just before the deadline on a slow network.
const defaultGrace = 30 * time.Second

// Attempts returns the number of attempts a candidate has; 0 in the catalog
// means 1.
func (d *Delivery) Attempts() int {
	if d.MaxAttempts <= 0 {
		return 1
	}
	return d.MaxAttempts
}

// GraceD returns the accepted lateness of saves after the deadline.
func (d *Delivery) GraceD() time.Duration {
	if d.Grace <= 0 {
		return defaultGrace
	}
	return d.Grace.D()
}

// ItemCount returns the number of items over all sections.
func (d *Delivery) ItemCount() int {
	n := 0
	for _, s := range d.sections() {
		n += len(s.Items)
	}
	return n
}

// Item returns the item with the given id.
func (d *Delivery) Item(id string) (*Item, bool) {
	if d.byID != nil {
		it, ok := d.byID[id]
		return it, ok
	}
	// A delivery built in code has no index.
	for _, s := range d.sections() {
		for i := range s.Items {
			if s.Items[i].ID == id {
				return &s.Items[i], true
			}
		}
	}
	return nil, false
}

// MaxPoints returns the score of an attempt with every item right.
func (d *Delivery) MaxPoints() float64 {
	var sum float64
	for _, s := range d.sections() {
		for i := range s.Items {
			sum += s.Items[i].points()
		}
	}
	return sum
}

// AttemptDeadline returns when an attempt started at start ends: the exam's
// duration times the candidate's accommodation multiplier (≤ 0 means none).
// The extended duration is rounded to whole seconds so that the deadline
// shown and the one enforced are the same instant.
func AttemptDeadline(start time.Time, d *Delivery, multiplier float64) time.Time {
	if !(multiplier > 0) { // also NaN
		multiplier = 1
	}
	seconds := math.Round(float64(d.DurationMinutes) * 60 * multiplier)
	return start.Add(time.Duration(seconds) * time.Second)
}

// sections returns the content. After loading it is all in Sections; a
// delivery built in code may still hold top-level Items.
func (d *Delivery) sections() []Section {
	if len(d.Sections) == 0 && len(d.Items) > 0 {
		return []Section{{Items: d.Items}}
	}
	return d.Sections
}

// points returns the item's weight; 0 means the default of 1.
func (it *Item) points() float64 {
	if it.Points == 0 {
		return 1
	}
	return it.Points
}

// trueFalseOptions are the options of a true/false item that lists none.
var trueFalseOptions = []Option{{ID: "true", Text: "True"}, {ID: "false", Text: "False"}}

// options returns the item's options, with the true/false defaults for a
// true/false item built in code without them.
func (it *Item) options() []Option {
	if it.Type == ItemTrueFalse && len(it.Options) == 0 {
		return trueFalseOptions
	}
	return it.Options
}
