package examgate

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Content limits: generous for real exams, small enough that a broken file
// cannot make every attempt read huge.
const (
	maxStemBytes  = 20000
	maxOptions    = 26 // one per letter, as candidates are used to
	maxItemPoints = 1000
)

var itemIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// itemsFileContent is the shape of an itemsFile.
type itemsFileContent struct {
	Items    []Item    `yaml:"items"`
	Sections []Section `yaml:"sections"`
}

// load validates the delivery, reads its itemsFile (relative to dir, the
// catalog's directory) and leaves all content in Sections with defaults
// filled in, stems rendered and items indexed. Keys in errors are relative
// to "delivery.".
func (d *Delivery) load(dir string) *fieldError {
	switch {
	case d.DurationMinutes < 1 || d.DurationMinutes > 600:
		return &fieldError{"durationMinutes", "must be between 1 and 600"}
	case !(d.PassMark >= 0 && d.PassMark <= 100): // also NaN
		return &fieldError{"passMark", "must be a percentage between 0 and 100"}
	case d.MaxAttempts < 0 || d.MaxAttempts > 100:
		return &fieldError{"maxAttempts", "must be between 0 and 100 (0 means 1)"}
	case d.Grace.D() > 10*time.Minute:
		return &fieldError{"grace", "must be at most 10m"}
	}
	set := 0
	for _, has := range []bool{len(d.Items) > 0, len(d.Sections) > 0, d.ItemsFile != ""} {
		if has {
			set++
		}
	}
	if set != 1 {
		return &fieldError{"items", "set exactly one of items, sections or itemsFile"}
	}

	// prefix names where the content came from: the catalog's delivery keys,
	// or the items file, so that an error points at the file to edit. Flat
	// content (a top-level items list) is keyed items[i].
	prefix, flat := "sections", false
	switch {
	case len(d.Items) > 0:
		d.Sections = []Section{{Items: d.Items}}
		d.Items = nil
		prefix, flat = "items", true
	case d.ItemsFile != "":
		path := d.ItemsFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		content, err := readItemsFile(path)
		if err != nil {
			return &fieldError{"itemsFile " + path, err.Error()}
		}
		prefix = "itemsFile " + path + ": sections"
		d.Sections = content.Sections
		if len(content.Items) > 0 {
			d.Sections = []Section{{Items: content.Items}}
			prefix, flat = "itemsFile "+path+": items", true
		}
	}

	byID := map[string]*Item{}
	stems := map[string]string{}
	for si := range d.Sections {
		s := &d.Sections[si]
		if len(s.Items) == 0 && !flat {
			return &fieldError{fmt.Sprintf("%s[%d]", prefix, si), "has no items: list at least one or remove the section"}
		}
		for ii := range s.Items {
			it := &s.Items[ii]
			key := fmt.Sprintf("%s[%d].items[%d]", prefix, si, ii)
			if flat {
				key = fmt.Sprintf("%s[%d]", prefix, ii)
			}
			if it.ID != "" {
				key += fmt.Sprintf(" (id %q)", it.ID)
			}
			if field, problem := it.validate(); problem != "" {
				return &fieldError{key + ": " + field, problem}
			}
			if byID[it.ID] != nil {
				return &fieldError{key + ": id", "appears twice in this exam: item ids must be unique"}
			}
			byID[it.ID] = it
			stems[it.ID] = RenderMarkdown(it.Stem)
		}
	}
	if len(byID) == 0 {
		return &fieldError{prefix, "has no items: list at least one"}
	}
	d.byID, d.stemHTML = byID, stems
	return nil
}

// readItemsFile decodes an itemsFile strictly: a typo in a key must not
// silently drop a question's settings.
func readItemsFile(path string) (*itemsFileContent, error) {
	data, err := os.ReadFile(path)
	var pe *fs.PathError
	if errors.As(err, &pe) { // the path is already in the key
		return nil, fmt.Errorf("cannot be read: %w", pe.Err)
	} else if err != nil {
		return nil, err
	}
	var c itemsFileContent
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	switch {
	case len(c.Items) > 0 && len(c.Sections) > 0:
		return nil, errors.New("has both items and sections: use one")
	case len(c.Items) == 0 && len(c.Sections) == 0:
		return nil, errors.New("has no items: the file needs a top-level 'items' or 'sections' list")
	}
	return &c, nil
}

// validate checks one item and fills in its defaults (points, true/false
// options). It returns the field at fault and the problem, or "" for both.
func (it *Item) validate() (field, problem string) {
	switch {
	case it.ID == "":
		return "id", "is required"
	case !itemIDRE.MatchString(it.ID):
		return "id", "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
	case strings.TrimSpace(it.Stem) == "":
		return "stem", "is required"
	case len(it.Stem) > maxStemBytes:
		return "stem", fmt.Sprintf("is %d bytes: at most %d", len(it.Stem), maxStemBytes)
	case !(it.Points >= 0 && it.Points <= maxItemPoints): // also NaN; 0 is the default
		return "points", fmt.Sprintf("must be more than 0 and at most %d", maxItemPoints)
	}
	if it.Points == 0 {
		it.Points = 1
	}

	switch it.Type {
	case ItemSingle, ItemMultiple:
		if len(it.Options) < 2 || len(it.Options) > maxOptions {
			return "options", fmt.Sprintf("list between 2 and %d options", maxOptions)
		}
	case ItemTrueFalse:
		if len(it.Options) == 0 {
			it.Options = slices.Clone(trueFalseOptions)
		}
		if len(it.Options) != 2 || !slices.ContainsFunc(it.Options, func(o Option) bool { return o.ID == "true" }) ||
			!slices.ContainsFunc(it.Options, func(o Option) bool { return o.ID == "false" }) {
			return "options", `a true/false item has exactly the option ids "true" and "false" (or omit options)`
		}
	case "":
		return "type", "is required: single, multiple or truefalse"
	default:
		return "type", fmt.Sprintf("%q is not single, multiple or truefalse", it.Type)
	}
	ids := map[string]bool{}
	for i, o := range it.Options {
		key := "options[" + strconv.Itoa(i) + "]"
		switch {
		case strings.TrimSpace(o.ID) == "":
			return key + ".id", "is required"
		case ids[o.ID]:
			return key + ".id", fmt.Sprintf("%q appears twice", o.ID)
		case strings.TrimSpace(o.Text) == "":
			return key + ".text", "is required"
		}
		ids[o.ID] = true
	}

	switch {
	case it.Type != ItemMultiple && len(it.Correct) != 1:
		return "correct", "list exactly one option id"
	case len(it.Correct) == 0:
		return "correct", "list at least one option id"
	}
	seen := map[string]bool{}
	for _, c := range it.Correct {
		switch {
		case !ids[c]:
			return "correct", fmt.Sprintf("%q is not an option id", c)
		case seen[c]:
			return "correct", fmt.Sprintf("%q appears twice", c)
		}
		seen[c] = true
	}
	return "", ""
}

// PresentedSection is a section as the candidate sees it.
type PresentedSection struct {
	Title string
	Items []PresentedItem
}

// PresentedItem is an item as sent to the browser: it deliberately has no
// field for the correct options.
type PresentedItem struct {
	ID, Type, StemHTML string
	Options            []Option
	Points             float64
	Number             int // 1..n over all sections, in presented order
}

// Present returns the content in the order of the attempt with the given
// seed. Sections keep their order; items within a section and options
// within an item are shuffled when the delivery says so. The same seed
// always gives the same order, so a reload does not reshuffle the exam under
// the candidate. True/false options are never shuffled: "False, True" only
// confuses.
func (d *Delivery) Present(seed int64) []PresentedSection {
	sections := d.sections()
	out := make([]PresentedSection, len(sections))
	number := 0
	for si, s := range sections {
		items := make([]PresentedItem, len(s.Items))
		for i := range s.Items {
			it := &s.Items[i]
			p := PresentedItem{
				ID:       it.ID,
				Type:     it.Type,
				StemHTML: d.renderedStem(it),
				Options:  slices.Clone(it.options()),
				Points:   it.points(),
			}
			if d.ShuffleOptions && it.Type != ItemTrueFalse {
				shuffle(seed, "options/"+it.ID, len(p.Options), func(i, j int) {
					p.Options[i], p.Options[j] = p.Options[j], p.Options[i]
				})
			}
			items[i] = p
		}
		if d.ShuffleItems {
			shuffle(seed, "items/"+strconv.Itoa(si), len(items), func(i, j int) {
				items[i], items[j] = items[j], items[i]
			})
		}
		for i := range items {
			number++
			items[i].Number = number
		}
		out[si] = PresentedSection{Title: s.Title, Items: items}
	}
	return out
}

// renderedStem returns the stem's HTML, rendered at load time for catalog
// deliveries.
func (d *Delivery) renderedStem(it *Item) string {
	if h, ok := d.stemHTML[it.ID]; ok {
		return h
	}
	return RenderMarkdown(it.Stem)
}

// shuffle permutes n elements with a PCG stream seeded from the attempt's
// seed and a label (the item or section), so each list has its own order.
// It is Fisher-Yates over the raw PCG output rather than rand.Shuffle,
// whose use of the stream is not promised to stay the same across Go
// releases: an open attempt must keep its order through an upgrade.
func shuffle(seed int64, label string, n int, swap func(i, j int)) {
	h := fnv.New64a()
	h.Write([]byte(label))
	src := rand.NewPCG(uint64(seed), h.Sum64())
	for i := n - 1; i > 0; i-- {
		// The modulo bias is below 2^-50 for lists this short.
		swap(i, int(src.Uint64()%uint64(i+1)))
	}
}
