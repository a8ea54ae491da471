package examgate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Exam is one entry of the exam catalog.
type Exam struct {
	Code            string `yaml:"code"`
	Title           string `yaml:"title"`
	EligibilityDays int    `yaml:"eligibilityDays"`
	TI              ExamTI `yaml:"ti"`
	// Availability is nil for an exam that cannot be booked.
	Availability *Availability `yaml:"availability"`
	Policy       Policy        `yaml:"policy"`
	// Delivery is nil for an exam that cannot be sat in the browser yet.
	Delivery *Delivery `yaml:"delivery"`
}

// ExamTI links an exam to Thought Industries.
type ExamTI struct {
	CourseIDs    []string `yaml:"courseIds"`
	CourseSlug   string   `yaml:"courseSlug"`
	AssignmentID string   `yaml:"assignmentId"`
}

// IsUUID reports whether s is spelled as a UUID (8-4-4-4-12 hex digits),
// the type TI gives user, course and assignment ids.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
				return false
			}
		}
	}
	return true
}

// HasCourse reports whether a TI course grants access to the exam. The
// exam_id of a launch is outside the token's signature, so this check is what
// stops a learner of one course from opening another course's exam.
func (e *Exam) HasCourse(courseID string) bool {
	return courseID != "" && slices.Contains(e.TI.CourseIDs, courseID)
}

// Catalog is the set of exams examgate delivers, read once at start.
type Catalog struct {
	exams []*Exam
}

// Exam returns the exam with the given code, or a NotFound error.
func (c *Catalog) Exam(code string) (*Exam, error) {
	for _, e := range c.exams {
		if e.Code == code {
			return e, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "This exam is not available. Check the exam link in your course, or contact support.")
}

// Exams returns every exam in file order.
func (c *Catalog) Exams() []*Exam { return slices.Clone(c.exams) }

var examCodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// LoadCatalog reads the catalog file; errors name the file, the exam and the key.
func LoadCatalog(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("exam catalog: %w (set EXAMGATE_EXAMS to the exam file)", err)
	}
	c, err := ParseCatalogFile(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("exam catalog %s: %w", path, err)
	}
	return c, nil
}

// ParseCatalog parses and validates catalog YAML. Unknown keys are errors so
// that a typo does not silently drop a setting. Items files are relative to
// the working directory.
func ParseCatalog(data []byte) (*Catalog, error) { return ParseCatalogFile(data, ".") }

// ParseCatalogFile is ParseCatalog for a catalog read from dir: a delivery's
// itemsFile is relative to dir, as an author writing the catalog expects.
func ParseCatalogFile(data []byte, dir string) (*Catalog, error) {
	var file struct {
		Exams []*Exam `yaml:"exams"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(file.Exams) == 0 {
		return nil, errors.New("no exams: the file needs a top-level 'exams' list")
	}
	seen := map[string]bool{}
	for i, e := range file.Exams {
		name := fmt.Sprintf("exam #%d", i+1)
		if e.Code != "" {
			name = fmt.Sprintf("exam %q", e.Code)
		}
		bad := func(key, problem string) error { return fmt.Errorf("%s: %s: %s", name, key, problem) }
		switch {
		case e.Code == "":
			return nil, bad("code", "is required")
		case !examCodeRE.MatchString(e.Code):
			return nil, bad("code", "use 1-64 letters, digits, '.', '_' or '-'")
		case seen[e.Code]:
			return nil, bad("code", "appears twice")
		case strings.TrimSpace(e.Title) == "":
			return nil, bad("title", "is required")
		case e.EligibilityDays < 1 || e.EligibilityDays > 3650:
			return nil, bad("eligibilityDays", "must be between 1 and 3650")
		case len(e.TI.CourseIDs) == 0:
			return nil, bad("ti.courseIds", "list at least one TI course id")
		}
		for _, id := range e.TI.CourseIDs {
			if strings.TrimSpace(id) == "" {
				return nil, bad("ti.courseIds", "has an empty course id")
			}
		}
		if e.TI.AssignmentID != "" && !IsUUID(e.TI.AssignmentID) {
			return nil, bad("ti.assignmentId", fmt.Sprintf("%q is not a UUID; TI refuses results for any other id. Copy the assignment's id (like 123e4567-e89b-12d3-a456-426614174000) from TI", e.TI.AssignmentID))
		}
		if fe := e.validateBooking(); fe != nil {
			return nil, bad(fe.key, fe.problem)
		}
		if e.Delivery != nil {
			if fe := e.Delivery.load(dir); fe != nil {
				return nil, bad("delivery."+fe.key, fe.problem)
			}
		}
		seen[e.Code] = true
	}
	return &Catalog{exams: file.Exams}, nil
}
