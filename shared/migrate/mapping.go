package migrate

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// Outcome is what the migration does with one item of the old table.
type Outcome string

const (
	// Import: a finished request, imported with its history.
	Import Outcome = "import"
	// InFlight: a request still awaiting a decision or its release on the
	// old stack; not imported. Drain it on the old stack first.
	InFlight Outcome = "in_flight"
	// Malformed: an item the mapping cannot read; not imported.
	Malformed Outcome = "malformed"
)

// DrainAdvice is what the report says of an in-flight request.
const DrainAdvice = "drain on the old stack first"

// Mapped is one old item mapped: the request and history to import, or why
// it is not imported.
type Mapped struct {
	ID       string // egress_request_id, or "(item N)" when it has none
	Status   string // the old egress_status
	Outcome  Outcome
	Problems []string // Malformed: what is wrong, one entry per attribute
	Note     string   // InFlight: why, when the status alone does not say
	Request  egress.Request
	Events   []egress.Event // oldest first; Import chains them
}

// Map maps one item of the original's requests table (index is its place
// in the scan, to name an item without an id) to the request it ends as
// and its history. source names the old table in the MIGRATED event; now
// is the migration's time.
//
// The history is rebuilt from what the original kept: CREATED at
// requested_dt, one DECISION per reviewer at the time the reviewer's
// browser sent (ig_reviewer_1_dt, rit_reviewer_2_dt), RELEASED (at the
// final decision: the original did not record when its zip was written),
// one DOWNLOAD event carrying download_count (the original kept no
// download times, so it is dated at the migration), and MIGRATED naming the
// source table.
func Map(item map[string]types.AttributeValue, index int, source string, now time.Time) Mapped {
	it := readItem(item)
	m := Mapped{ID: it.get(attrID), Status: it.get(attrStatus)}
	if m.ID == "" {
		m.ID = fmt.Sprintf("(item %d)", index+1)
	}
	p := &problems{list: it.problems}
	single, singleKnown := false, false
	if s := it.get(attrSingleApproval); s != "" {
		if single, singleKnown = parseFlag(s); !singleKnown {
			p.add("%s: %q, want true or false", attrSingleApproval, s)
		}
	}

	// Which requests are finished. The original wrote PENDING (SWB's
	// status, on intake), PROCESSING (awaiting IG), IGAPPROVED (awaiting
	// RIT, or final with single approval), RITAPPROVED and REJECTED.
	switch egress.Status(m.Status) {
	case "PENDING", egress.StatusProcessing:
		m.Outcome = InFlight
	case egress.StatusIGApproved:
		// Without the flag the request cannot be shown final: it may be
		// awaiting RIT. Draining it settles the question.
		if !single {
			m.Outcome = InFlight
		}
		if !singleKnown && it.get(attrSingleApproval) == "" {
			m.Note = attrSingleApproval + " is missing, so it is taken as awaiting RIT; if it is in fact final (single approval), set the attribute to \"true\" on the old item"
		}
	case egress.StatusRITApproved, egress.StatusRejected:
	case "":
		p.add("%s is missing", attrStatus)
	default:
		p.add("%s: %q is not a status the original wrote (PENDING, PROCESSING, IGAPPROVED, RITAPPROVED, REJECTED)", attrStatus, m.Status)
	}
	if it.get(attrID) == "" {
		p.add("%s is missing", attrID)
	}
	if m.Outcome == InFlight && len(p.list) == 0 {
		return m
	}

	r := egress.Request{
		ID:                       m.ID,
		StoreName:                it.get(attrStoreName),
		StoreID:                  it.get(attrStoreID),
		ProjectID:                it.get(attrProject),
		WorkspaceID:              it.get(attrWorkspace),
		UpdatedBy:                it.get(attrUpdatedBy),
		Status:                   egress.Status(m.Status),
		StoreBucket:              it.get(attrBucket),
		StoreBucketPath:          it.get(attrBucketPath),
		ObjectListLocation:       it.get(attrObjectList),
		SWBObjectMetadataVersion: it.get(attrSWBVersion),
		SingleApproval:           single,
		// TaskToken is left behind: it belonged to the old stack's
		// execution, which is over, and is a secret.
		// StagingObjectMetadataVersion too: it named the old stack's
		// staging copy, gone once the request ended, and the API would
		// read it as this stack's staging manifest (a request without one
		// shows no files).
	}
	if r.WorkspaceID == "" {
		// SWB's egress store id is the workspace id (Contract 1).
		r.WorkspaceID = r.StoreID
	}
	if r.WorkspaceID == "" {
		p.add("%s and %s are missing", attrWorkspace, attrStoreID)
	}
	// The original stored the submitter's e-mail (SWB's created_by_email)
	// as requested_by; the new tables keep SWB's user id there and the
	// e-mail apart. A value without "@" is taken as a user id.
	if by := it.get(attrRequestedBy); strings.Contains(by, "@") {
		r.RequestedByEmail = by
	} else {
		r.RequestedBy = by
	}
	r.RequestedAt = p.time(it, attrRequestedAt, true)
	r.UpdatedAt = p.time(it, attrUpdatedAt, false)
	if s := it.get(attrDownloadCount); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			p.add("%s: %q, want a count (0, 1, 2, ...)", attrDownloadCount, s)
		}
		r.DownloadCount = n
	}

	ig := readReview(it, p, prefixIG, 0, "IG")
	rit := readReview(it, p, prefixRIT, 1, "RIT")
	// The status must follow from the decisions, or the item was changed
	// by hand or mid-way: importing it would invent a history.
	switch r.Status {
	case egress.StatusRITApproved:
		if ig.Decision != egress.Approved || rit.Decision != egress.Approved {
			p.add("%s is RITAPPROVED but the decisions are IG %q, RIT %q (want both APPROVED)", attrStatus, ig.Decision, rit.Decision)
		}
		if singleKnown && single {
			p.add("%s is RITAPPROVED but %s is true: a single-approval request ends IGAPPROVED", attrStatus, attrSingleApproval)
		}
	case egress.StatusIGApproved:
		if ig.Decision != egress.Approved || rit.Decision != "" {
			p.add("%s is IGAPPROVED with single approval but the decisions are IG %q, RIT %q (want APPROVED and none)", attrStatus, ig.Decision, rit.Decision)
		}
	case egress.StatusRejected:
		switch {
		case ig.Decision == egress.Rejected && rit.Decision == "":
		case ig.Decision == egress.Approved && rit.Decision == egress.Rejected:
		default:
			p.add("%s is REJECTED but the decisions are IG %q, RIT %q (want IG REJECTED, or IG APPROVED and RIT REJECTED)", attrStatus, ig.Decision, rit.Decision)
		}
	}
	if len(p.list) > 0 {
		m.Outcome, m.Problems = Malformed, p.list
		return m
	}

	m.Outcome = Import
	m.Request, m.Events = history(r, []egress.Review{ig, rit}, it.get(attrCurrentGroup), source, now)
	return m
}

// readReview reads one stage's ig_reviewer_1_* or rit_reviewer_2_*
// attributes; a stage nobody decided has no Decision.
func readReview(it legacyItem, p *problems, prefix string, stageIndex int, stage string) egress.Review {
	v := egress.Review{
		StageIndex: stageIndex, Stage: stage,
		Name:     it.get(prefix + suffixName),
		Email:    it.get(prefix + suffixMail),
		Reason:   it.get(prefix + suffixReason),
		Decision: egress.Decision(it.get(prefix + suffixDecision)),
	}
	switch v.Decision {
	case "", egress.Approved, egress.Rejected:
	default:
		p.add("%s%s: %q, want APPROVED or REJECTED", prefix, suffixDecision, v.Decision)
	}
	v.At = p.time(it, prefix+suffixAt, false)
	return v
}

// history builds the imported request at its final status and the events
// leading there. reviews[i] is stage i's decision, empty if never decided.
func history(r egress.Request, reviews []egress.Review, lastGroup, source string, now time.Time) (egress.Request, []egress.Event) {
	actor := r.RequestedByEmail
	if actor == "" {
		actor = r.RequestedBy
	}
	events := []egress.Event{{
		RequestID: r.ID, At: r.RequestedAt, Kind: egress.EventCreated, Actor: actor, To: egress.StatusProcessing,
	}}
	from := egress.StatusProcessing
	last := r.RequestedAt // the latest time known so far
	var decided []egress.Review
	for i, v := range reviews {
		if v.Decision == "" {
			continue
		}
		to := egress.StatusRejected
		if v.Decision == egress.Approved {
			to = egress.StatusIGApproved
			if i == 1 {
				to = egress.StatusRITApproved
			}
		}
		// Only the group of the stage decided last is known: the original
		// kept the current one only.
		if i == len(reviews)-1 || reviews[i+1].Decision == "" {
			v.Group = lastGroup
		}
		at, reason := v.At, v.Reason
		if at.IsZero() {
			// The original kept no time for this decision: dated at the
			// latest time known before it, and said so.
			at = last
			reason = strings.TrimSpace(reason + "\n(the original recorded no time for this decision; dated at the previous event)")
		}
		last = maxTime(last, at)
		decided = append(decided, v)
		events = append(events, egress.Event{
			RequestID: r.ID, At: at, Kind: egress.EventDecision, Actor: reviewerActor(v),
			From: from, To: to, Stage: v.Stage, Reason: reason,
		})
		from = to
	}
	r.Reviews = decided
	r.CurrentReviewerGroup = "" // no stage awaits a decision
	if r.Status != egress.StatusRejected {
		// Released: the original wrote the zip where the new stack does
		// (workflow.ZipKey), so downloads go on from the same object.
		r.ZipKey, r.ReleasedAt = workflow.ZipKey(r), last
		events = append(events, egress.Event{
			RequestID: r.ID, At: last, Kind: egress.EventReleased, Actor: egress.ActorWorkflow,
			From: r.Status, To: r.Status,
			Reason: "released by the original add-on to " + r.ZipKey + "; it recorded no release time, dated at the final decision",
		})
	}
	if r.DownloadCount > 0 {
		events = append(events, egress.Event{
			RequestID: r.ID, At: now.UTC(), Kind: egress.EventDownload, Actor: egress.ActorMigration,
			From: r.Status, To: r.Status,
			Reason: fmt.Sprintf("%d download(s) through the original add-on; it kept the count, not who downloaded or when", r.DownloadCount),
		})
	}
	events = append(events, egress.Event{
		RequestID: r.ID, At: now.UTC(), Kind: egress.EventMigrated, Actor: egress.ActorMigration,
		From: r.Status, To: r.Status,
		Reason: "imported from the Python add-on's requests table " + source + "; the events before this one were rebuilt from its item",
	})
	if len(decided) > 0 && !last.Before(r.UpdatedAt) {
		// The original's updated_* are SWB's, from the submission; the
		// last change it made is the last decision.
		r.UpdatedBy = decided[len(decided)-1].Email
	}
	r.UpdatedAt = maxTime(r.UpdatedAt, last)
	return r, events
}

func reviewerActor(v egress.Review) string {
	switch {
	case v.Email != "":
		return v.Email
	case v.Name != "":
		return v.Name
	}
	return "unknown (not recorded by the original)"
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// problems collects what is wrong with an item, all of it, so an operator
// fixes an item once.
type problems struct{ list []string }

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// time parses attribute name; a missing one is the zero time, or a problem
// when required.
func (p *problems) time(it legacyItem, name string, required bool) time.Time {
	s := it.get(name)
	if s == "" {
		if required {
			p.add("%s is missing", name)
		}
		return time.Time{}
	}
	t, err := parseLegacyTime(s)
	if err != nil {
		p.add("%s: %v", name, err)
	}
	return t
}
