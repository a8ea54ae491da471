package lti

import "strings"

// Who a launch is for, from its roles claim (LTI Core 1.3, 5.3.7 and
// Appendix A.2).
const (
	// AudienceLearner launches become candidates: their eligibility window
	// starts, they book and sit the exam, and their scores are sent.
	AudienceLearner = "learner"
	// AudienceStaff launches (instructors, teaching assistants, content
	// developers, administrators, mentors) get a preview of the exam: no
	// candidate, no eligibility window, no seat, no score.
	AudienceStaff = "staff"
)

// roleTable is the one place that says which roles count as which. Context
// (membership) roles decide when the launch has any; institution and
// system roles only when it has none, since a learner may also be staff of
// the institution. Sub-roles (membership/Instructor#TeachingAssistant)
// count as their principal role. LTI 1.3 roles are URIs; platforms that
// still send LTI 1.1 short names for context roles ("Instructor") are read
// the same.
var roleTable = []struct {
	prefix   string // a role URI, or a URI prefix ending in '/' or '#'
	context  bool
	audience string
}{
	{"http://purl.imsglobal.org/vocab/lis/v2/membership#Learner", true, AudienceLearner},
	{"http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#", true, AudienceLearner},
	{"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor", true, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#", true, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator", true, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/membership/Administrator#", true, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper", true, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/membership/ContentDeveloper#", true, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor", true, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/membership/Mentor#", true, AudienceStaff},
	{"Learner", true, AudienceLearner},
	{"Instructor", true, AudienceStaff},
	{"TeachingAssistant", true, AudienceStaff},
	{"ContentDeveloper", true, AudienceStaff},
	{"Administrator", true, AudienceStaff},
	{"Mentor", true, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student", false, AudienceLearner},
	{"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Learner", false, AudienceLearner},
	{"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor", false, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty", false, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator", false, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator", false, AudienceStaff},
	{"http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin", false, AudienceStaff},
}

// Audience says whom a launch with roles is for. Staff wins over learner
// at the same level (an instructor enrolled as a learner too previews); a
// launch whose roles are empty or all unknown is a learner's, as LTI Core
// sends an empty list for a user without a role.
func Audience(roles []string) string {
	var ctx, inst []string
	for _, r := range roles {
		r = strings.TrimSpace(r)
		for _, row := range roleTable {
			if r == row.prefix || (strings.HasSuffix(row.prefix, "#") || strings.HasSuffix(row.prefix, "/")) && strings.HasPrefix(r, row.prefix) {
				if row.context {
					ctx = append(ctx, row.audience)
				} else {
					inst = append(inst, row.audience)
				}
				break
			}
		}
	}
	for _, level := range [][]string{ctx, inst} {
		if len(level) == 0 {
			continue
		}
		for _, a := range level {
			if a == AudienceStaff {
				return AudienceStaff
			}
		}
		return AudienceLearner
	}
	return AudienceLearner
}
