package workflow

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tre-egress/egress/shared/checks"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/sdc"
)

// Checker runs the automated checks on staged files (checks.Checker).
type Checker interface {
	// Listing checks what the manifest alone tells: counts, sizes,
	// extensions.
	Listing(files []egress.File) (request []egress.Finding, perFile map[int][]egress.Finding)
	// File checks one staged file, reading it at most once.
	File(ctx context.Context, f egress.File, obj egress.ObjectVersion) (checks.FileResult, error)
}

// CheckSettings bound the CheckFiles step.
type CheckSettings struct {
	Engine string // the malware engine, for the summary and findings
	// ScanTimeout bounds the wait for a scanner that reports later
	// (GuardDuty); files still pending get a "not scanned" warning.
	ScanTimeout time.Duration
	// Budget is how long one invocation checks before it hands over to the
	// next, when its context has no deadline (a Lambda's has).
	Budget time.Duration
	// PollSeconds is how long the workflow waits before asking a scanner
	// that reports later again.
	PollSeconds int
}

// ChecksOutput is CheckFiles' result: the state machine calls it again
// after WaitSeconds until Done, and routes a Blocked request to its
// clean-up.
type ChecksOutput struct {
	Done        bool `json:"done"`
	Blocked     bool `json:"blocked"`
	WaitSeconds int  `json:"wait_seconds"`
	Checked     int  `json:"checked"` // files checked so far
}

// checkProgress is CheckFiles' state between invocations, kept in the
// staging bucket beside the manifest: a request of 100,000 files is
// checked over as many invocations as its bytes take, each picking up
// where the last one stopped.
type checkProgress struct {
	RequestID string    `json:"egress_request_id"`
	Started   time.Time `json:"started"`
	// Next: every file before it is checked; Ahead lists the files after
	// it that are checked too (a scanner's late verdict held Next back).
	Next    int                      `json:"next"`
	Ahead   []int                    `json:"ahead,omitempty"`
	Request []egress.Finding         `json:"request,omitempty"`
	Files   map[int][]egress.Finding `json:"files,omitempty"`
	ACRO    []acroResults            `json:"acro,omitempty"`
	// Types are the sniffed content types of the files checked, by index.
	Types map[int]string `json:"types,omitempty"`
}

// acroResults is what one ACRO/SACRO results.json says of its outputs.
type acroResults struct {
	Path    string           `json:"path"`
	Outputs []sdc.ACROOutput `json:"outputs"`
}

// checksPrefix holds CheckFiles' progress, outside the staged files'
// prefix and deleted when the checks finish.
func checksPrefix(r egress.Request) string {
	return "checks/" + r.WorkspaceID + "/" + r.ID + "/"
}

func checksKey(r egress.Request) string { return checksPrefix(r) + "progress.json" }

// checkWindow is how many files are checked side by side per concurrent
// worker before progress is weighed.
const checkWindow = 4

// MaxCheckConcurrency bounds how many files are checked at a time,
// whatever the copies' concurrency: each check streams a file through the
// sniffer, the disclosure check and a scanner connection (clamd serves 10
// threads by default), so more at a time buys little and costs memory.
const MaxCheckConcurrency = 16

// CheckWorkers is how many files are checked at a time for a copy
// concurrency: as many, at least one and at most MaxCheckConcurrency.
func CheckWorkers(copyConcurrency int) int {
	return min(max(1, copyConcurrency), MaxCheckConcurrency)
}

// checkWindowBytes bounds the bytes of a window (one file may be larger),
// and checkSaveEvery is how often progress is saved within an invocation.
const (
	checkWindowBytes = 2 << 30
	checkSaveEvery   = 2 * time.Minute
)

// CheckFiles runs the automated checks on the files CopyToStaging staged,
// before any reviewer sees them, and puts each file's findings into the
// manifest. Checking stops before the invocation's time runs out and
// resumes in the next one; a scanner still busy with a file makes the
// workflow wait and ask again, up to ScanTimeout. When every file is
// checked, a blocking finding ends the request BLOCKED (the state machine
// then deletes the staged copies and unlocks SWB's store, as for a
// rejection); otherwise the findings go to review with the files.
func (h *Handlers) CheckFiles(ctx context.Context, in RequestInput) (ChecksOutput, error) {
	if err := in.validate(); err != nil {
		return ChecksOutput{}, err
	}
	if h.Checks == nil {
		return ChecksOutput{}, errors.New("check files: the handler has no checker")
	}
	log := h.log(ctx, in.RequestID)
	r, err := h.Requests.Get(ctx, in.RequestID)
	if err != nil {
		return ChecksOutput{}, err
	}
	if r.Checks != nil && (r.Status == egress.StatusProcessing || r.Status == egress.StatusBlocked) {
		// A retry of a call whose outcome is stored: it stands.
		return ChecksOutput{Done: true, Blocked: r.Status == egress.StatusBlocked, Checked: r.FileCount}, nil
	}
	if r.Status != egress.StatusProcessing {
		return ChecksOutput{}, egress.Errorf(egress.ECONFLICT, "request %s is %s; only PROCESSING requests are checked", r.ID, r.Status)
	}
	m, err := h.Objects.ReadManifest(ctx, h.Settings.StagingBucket, r.StagingObjectMetadataVersion)
	if err != nil {
		return ChecksOutput{}, fmt.Errorf("check files of %s: %w", r.ID, err)
	}
	if m.RequestID != r.ID {
		return ChecksOutput{}, fmt.Errorf("check files of %s: manifest %s belongs to request %s", r.ID, r.StagingObjectMetadataVersion, m.RequestID)
	}
	files := m.Files
	var p checkProgress
	switch err := h.Objects.ReadJSON(ctx, h.Settings.StagingBucket, checksKey(r), &p); {
	case egress.ErrorCode(err) == egress.ENOTFOUND || (err == nil && p.RequestID != r.ID):
		p = checkProgress{RequestID: r.ID, Started: h.now(), Files: map[int][]egress.Finding{}}
		var perFile map[int][]egress.Finding
		p.Request, perFile = h.Checks.Listing(files)
		for i, fs := range perFile {
			p.Files[i] = append(p.Files[i], fs...)
		}
	case err != nil:
		return ChecksOutput{}, fmt.Errorf("check files of %s: read progress: %w", r.ID, err)
	}
	if p.Files == nil {
		p.Files = map[int][]egress.Finding{}
	}

	if egress.Blocking(p.Request) {
		// Too many files, or too many bytes, for any release: the request
		// is blocked whatever its files hold, so they are not read.
		p.Next, p.Ahead = len(files), nil
	}
	stop, saved := h.checkDeadline(ctx), time.Now()
	cs := h.Settings.Checks
	timedOut := cs.ScanTimeout > 0 && h.now().Sub(p.Started) >= cs.ScanTimeout
	workers := CheckWorkers(h.Settings.CopyConcurrency)
	pending := false
	// At least one window per invocation, so every call makes progress.
	ahead := map[int]bool{}
	for _, i := range p.Ahead {
		ahead[i] = true
	}
	save := func() error {
		p.Ahead = slices.Sorted(maps.Keys(ahead))
		if err := h.Objects.WriteJSON(ctx, h.Settings.StagingBucket, checksKey(r), p); err != nil {
			return fmt.Errorf("check files of %s: save progress: %w", r.ID, err)
		}
		return nil
	}
	for first := true; p.Next < len(files) && !pending && (first || time.Now().Before(stop)); first = false {
		// A window is bounded in files and in bytes, so that the time
		// check between windows comes often enough whatever the sizes.
		var window []int
		var bytes int64
		for i := p.Next; i < len(files) && len(window) < workers*checkWindow && (len(window) == 0 || bytes < checkWindowBytes); i++ {
			if !ahead[i] {
				window = append(window, i)
				bytes += files[i].Size
			}
		}
		results := make([]checks.FileResult, len(window))
		errs := make([]error, len(window))
		var wg sync.WaitGroup
		sem := make(chan struct{}, workers)
		for k, i := range window {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				f := files[i]
				obj := egress.ObjectVersion{Bucket: h.Settings.StagingBucket, Key: egress.StagedKey(r, f.Path), VersionID: f.StagedVersionID}
				results[k], errs[k] = h.Checks.File(ctx, f, obj)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return ChecksOutput{}, fmt.Errorf("check files of %s: %w", r.ID, err)
		}
		for k, i := range window {
			res := results[k]
			if res.Pending && timedOut {
				res = checks.FileResult{Findings: []egress.Finding{{Check: egress.CheckMalware, Severity: egress.SeverityWarning,
					Message: fmt.Sprintf("not scanned: %s gave no verdict within %s", cs.Engine, cs.ScanTimeout)}}}
			}
			if res.Pending {
				pending = true
				continue
			}
			if len(res.Findings) > 0 {
				p.Files[i] = append(p.Files[i], res.Findings...)
			}
			if res.ContentType != "" {
				if p.Types == nil {
					p.Types = map[int]string{}
				}
				p.Types[i] = res.ContentType
			}
			if len(res.ACRO) > 0 {
				p.ACRO = append(p.ACRO, acroResults{Path: files[i].Path, Outputs: res.ACRO})
			}
			ahead[i] = true
		}
		for ahead[p.Next] {
			delete(ahead, p.Next)
			p.Next++
		}
		// Saved now and then, so a crash loses minutes of work, not the
		// whole invocation's.
		if time.Since(saved) > checkSaveEvery && p.Next < len(files) {
			if err := save(); err != nil {
				return ChecksOutput{}, err
			}
			saved = time.Now()
		}
	}
	checked := p.Next + len(ahead)
	if p.Next < len(files) {
		if err := save(); err != nil {
			return ChecksOutput{}, err
		}
		out := ChecksOutput{Checked: checked}
		if pending {
			out.WaitSeconds = max(1, cs.PollSeconds)
		}
		log.Info("checks continue", "checked", checked, "files", len(files), "waiting_for_scanner", pending)
		return out, nil
	}
	return h.finishChecks(ctx, r, m, p)
}

// checkDeadline is when an invocation stops starting new files: well
// before its Lambda's deadline (a file may take a while), or after the
// configured budget.
func (h *Handlers) checkDeadline(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		return time.Now().Add(left - max(left/4, min(3*time.Minute, left/2)))
	}
	if b := h.Settings.Checks.Budget; b > 0 {
		return time.Now().Add(b)
	}
	return time.Now().Add(10 * time.Minute)
}

// finishChecks puts every file's findings into the manifest and records
// the outcome on the request: BLOCKED, or on to review with a summary.
func (h *Handlers) finishChecks(ctx context.Context, r egress.Request, m egress.Manifest, p checkProgress) (ChecksOutput, error) {
	files := slices.Clone(m.Files)
	for i := range files {
		files[i].Findings = slices.Clone(p.Files[i])
		files[i].ContentType = p.Types[i]
	}
	for _, a := range p.ACRO {
		checks.ApplyACRO(files, a.Path, a.Outputs)
	}
	// Counted before bounding, which folds a file's surplus findings
	// into one.
	found := slices.Clone(p.Request)
	for _, f := range files {
		found = append(found, f.Findings...)
	}
	for i := range files {
		files[i].Findings = egress.BoundFindings(files[i].Findings)
		if len(files[i].Findings) == 0 {
			files[i].Findings = nil
		}
	}
	summary := egress.Summarise(h.Settings.Checks.Engine, egress.BoundFindings(p.Request), files)
	m.Files = files
	if err := h.Objects.WriteManifest(ctx, h.Settings.StagingBucket, r.StagingObjectMetadataVersion, m); err != nil {
		return ChecksOutput{}, fmt.Errorf("check files of %s: %w", r.ID, err)
	}
	if _, err := h.update(ctx, r.ID, func(cur *egress.Request) (egress.Event, error) {
		if cur.Status != egress.StatusProcessing || cur.Checks != nil {
			return egress.Event{}, fmt.Errorf("request %s became %s while its files were checked: %w", cur.ID, cur.Status, errMovedOn)
		}
		cur.Checks = &summary
		if summary.Blocked() {
			next, ev, err := egress.Block(*cur, summary, h.now())
			*cur = next
			return ev, err
		}
		cur.UpdatedAt, cur.UpdatedBy = h.now(), egress.ActorWorkflow
		return egress.Event{RequestID: cur.ID, At: h.now(), Kind: egress.EventChecked, Actor: egress.ActorWorkflow, From: cur.Status, To: cur.Status,
			Reason: fmt.Sprintf("%d warnings, %d notes on %d files (malware engine: %s)", summary.Warnings, summary.Info, summary.Files, summary.Engine)}, nil
	}); err != nil {
		return ChecksOutput{}, err
	}
	h.metrics().Checked(ctx, r.ID, found)
	if _, err := h.Objects.DeletePrefix(ctx, h.Settings.StagingBucket, checksPrefix(r)); err != nil {
		h.log(ctx, r.ID).Warn("checks progress left behind", "key", checksKey(r), "error", err)
	}
	h.log(ctx, r.ID).Info("checked", "files", len(files), "blocking", summary.Blocking, "warnings", summary.Warnings, "info", summary.Info, "engine", summary.Engine)
	return ChecksOutput{Done: true, Blocked: summary.Blocked(), Checked: len(files)}, nil
}

// blockedText lists what blocked r: file names and reasons, never
// contents, from the summary the checks stored on the request.
func blockedText(r egress.Request) string {
	var b strings.Builder
	s := r.Checks
	if s == nil {
		return ""
	}
	n := 0
	for _, f := range s.Notable {
		if f.Severity != egress.SeverityBlocking {
			continue
		}
		n++
		where := f.Path
		if where == "" {
			where = "the request as a whole"
		}
		fmt.Fprintf(&b, "  %s: %s\n", bounded(where, maxField), mailable(f.Finding))
	}
	if s.Blocking > n {
		fmt.Fprintf(&b, "  and %d more (see the request in the web app)\n", s.Blocking-n)
	}
	return b.String()
}
