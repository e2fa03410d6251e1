package egress

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Severity says what a finding of an automated check means for a request.
type Severity string

const (
	SeverityInfo     Severity = "INFO"     // shown to reviewers, nothing more
	SeverityWarning  Severity = "WARNING"  // shown to reviewers and in their notice
	SeverityBlocking Severity = "BLOCKING" // the request is BLOCKED before any review
)

// The checks a finding can come from.
const (
	CheckExtension = "extension"    // allowed and blocked file extensions
	CheckType      = "content-type" // the type sniffed from the bytes against the extension
	CheckSize      = "size"         // per-file and total size limits
	CheckCount     = "count"        // the maximum number of files
	CheckArchive   = "archive"      // archives inside the request: refused or listed
	CheckMalware   = "malware"      // the malware scanner's verdict
	CheckSDC       = "sdc"          // statistical disclosure control on tables
	CheckACRO      = "acro"         // what the researcher's ACRO/SACRO results.json says of an output
)

// CheckNames lists every check a finding can come from.
func CheckNames() []string {
	return []string{CheckExtension, CheckType, CheckSize, CheckCount, CheckArchive, CheckMalware, CheckSDC, CheckACRO}
}

// Severities lists every severity, most severe first.
func Severities() []Severity { return []Severity{SeverityBlocking, SeverityWarning, SeverityInfo} }

// Bounds that keep findings small whatever a file holds: they travel in
// the manifest, the API and e-mails.
const (
	MaxFindingMessage  = 500 // bytes of one message
	MaxFindingsPerFile = 50  // further findings of a file are summed up in the last one
)

// Finding is what an automated check found in one file, or in the request
// as a whole. Messages name files, rows and columns, never their contents.
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

func (f Finding) String() string { return fmt.Sprintf("%s %s: %s", f.Severity, f.Check, f.Message) }

// Blocking reports whether any of fs blocks the request.
func Blocking(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityBlocking {
			return true
		}
	}
	return false
}

// BoundFindings truncates each message to MaxFindingMessage bytes (on a
// rune boundary) and keeps at most MaxFindingsPerFile findings, blocking
// ones first, the last kept one saying how many were left out.
func BoundFindings(fs []Finding) []Finding {
	out := make([]Finding, 0, min(len(fs), MaxFindingsPerFile))
	for _, sev := range []Severity{SeverityBlocking, SeverityWarning, SeverityInfo} {
		for _, f := range fs {
			if f.Severity == sev {
				f.Message = truncate(f.Message, MaxFindingMessage)
				out = append(out, f)
			}
		}
	}
	for _, f := range fs { // unknown severities last, kept as they are
		if f.Severity != SeverityBlocking && f.Severity != SeverityWarning && f.Severity != SeverityInfo {
			f.Message = truncate(f.Message, MaxFindingMessage)
			out = append(out, f)
		}
	}
	if len(out) > MaxFindingsPerFile {
		left := len(out) - (MaxFindingsPerFile - 1)
		out = append(out[:MaxFindingsPerFile-1], Finding{Check: out[MaxFindingsPerFile-1].Check, Severity: out[MaxFindingsPerFile-1].Severity,
			Message: fmt.Sprintf("and %d more findings", left)})
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = strings.ToValidUTF8(s[:n-len("…")], "")
	return s + "…"
}

// ReleaseBytesPerSecond is the rate one invocation is planned to zip or
// read back at (a 2048 MB function streams S3 to S3 faster than that; see
// README's bench), and MaxReleaseBytes what one 900 s invocation gets
// through at it: the default of max_total_bytes (a policy: a bigger
// release continues in further invocations) and the ceiling of
// max_file_bytes, since staging hashes a file copied in parts (above
// MaxCopyObjectBytes) by reading it back in one invocation.
const (
	ReleaseTimeLimitSeconds = 900
	ReleaseBytesPerSecond   = 64 << 20
	MaxReleaseBytes         = ReleaseTimeLimitSeconds * ReleaseBytesPerSecond // 56.25 GiB
	// MaxCopyObjectBytes is the largest source S3 copies with one
	// CopyObject, hashing it as it copies; larger ones go in parts.
	MaxCopyObjectBytes = 5 << 30
)

// MaxClamdStreamBytes is the longest INSTREAM clamd accepts (its
// StreamMaxLength is below 2 GiB).
const MaxClamdStreamBytes = 2<<30 - 3

// MaxScanTimeoutMinutes bounds MalwareSettings.TimeoutMinutes.
const MaxScanTimeoutMinutes = 24 * 60

// Archive handling in CheckSettings.Archives.
const (
	ArchivesRefuse = "refuse" // an archive inside a request blocks it
	ArchivesList   = "list"   // each entry is listed for reviewers
)

// Malware engines in MalwareSettings.Engine.
const (
	EngineGuardDuty = "guardduty" // GuardDuty Malware Protection for S3 on the staging bucket
	EngineClamAV    = "clamav"    // clamd's INSTREAM protocol
	EngineNone      = "none"      // no scanner: every file carries a "not scanned" warning
)

// engineNames are the malware engines as people know them.
var engineNames = map[string]string{EngineGuardDuty: "GuardDuty", EngineClamAV: "ClamAV", EngineNone: "none"}

// EngineName is engine (an Engine* setting) as people know it; anything
// else is returned as it is.
func EngineName(engine string) string {
	if n, ok := engineNames[engine]; ok {
		return n
	}
	return engine
}

// CheckSettings configure the automated checks that run between staging
// and the first review (cdk.json "checks"); zero values take the defaults
// WithDefaults documents.
type CheckSettings struct {
	// AllowedExtensions, when set, are the only extensions accepted
	// (".csv", lower case; "" for files without one).
	AllowedExtensions []string `json:"allowed_extensions,omitempty"`
	// BlockedExtensions are refused; nil takes DefaultBlockedExtensions,
	// an empty list blocks none.
	BlockedExtensions []string        `json:"blocked_extensions"`
	MaxFileBytes      int64           `json:"max_file_bytes,omitempty"`  // default 50 GiB
	MaxTotalBytes     int64           `json:"max_total_bytes,omitempty"` // default MaxReleaseBytes; a policy, no ceiling (staging and the release span invocations)
	MaxFiles          int             `json:"max_files,omitempty"`       // default 100,000
	Archives          string          `json:"archives,omitempty"`        // ArchivesList (default) or ArchivesRefuse
	Malware           MalwareSettings `json:"malware"`
	SDC               SDCSettings     `json:"sdc"`
}

// MalwareSettings choose and bound the malware scanner.
type MalwareSettings struct {
	Engine string `json:"engine,omitempty"` // default EngineGuardDuty in AWS; the local stack uses ClamAV
	// ClamdAddress is clamd's TCP address (host:port) for EngineClamAV.
	ClamdAddress string `json:"clamd_address,omitempty"`
	// MaxScanBytes is the largest file streamed to clamd (its
	// StreamMaxLength); larger files get a "not scanned" warning.
	MaxScanBytes int64 `json:"max_scan_bytes,omitempty"` // default 1 GiB
	// TimeoutMinutes bounds the wait for GuardDuty's verdicts; files still
	// without one get a "not scanned" warning.
	TimeoutMinutes int `json:"timeout_minutes,omitempty"` // default 30
}

// SDCSettings configure statistical disclosure control on CSV/TSV tables.
type SDCSettings struct {
	Threshold int `json:"threshold,omitempty"` // counts below it (and above 0) are findings; default 10 (ACRO's)
	// ZerosDisclosive makes zero counts findings; default true.
	ZerosDisclosive *bool `json:"zeros_disclosive,omitempty"`
	// CountColumns are regular expressions matched against header names:
	// matching columns hold frequencies. nil takes DefaultCountColumns.
	CountColumns []string `json:"count_columns"`
	// Blocking makes SDC findings block the request instead of warning
	// the reviewers.
	Blocking bool  `json:"blocking,omitempty"`
	MaxBytes int64 `json:"max_bytes,omitempty"` // larger tables are not analysed (an INFO finding); default 64 MiB
}

// DefaultBlockedExtensions are executables, installers and disk images.
var DefaultBlockedExtensions = []string{".apk", ".bat", ".cmd", ".com", ".dll", ".dmg", ".exe", ".img", ".iso", ".jar", ".msi", ".ps1", ".scr", ".vbs"}

// DefaultCountColumns match the usual names of frequency columns.
var DefaultCountColumns = []string{`(?i)^(n|count|counts|freq|frequency|number|num|cases|total)$`, `(?i)[_ ](n|count|freq)$`}

// WithDefaults returns s with every unset field at its default.
func (s CheckSettings) WithDefaults() CheckSettings {
	if s.BlockedExtensions == nil {
		s.BlockedExtensions = DefaultBlockedExtensions
	}
	if s.MaxFileBytes == 0 {
		s.MaxFileBytes = 50 << 30
	}
	if s.MaxTotalBytes == 0 {
		s.MaxTotalBytes = MaxReleaseBytes
	}
	if s.MaxFiles == 0 {
		s.MaxFiles = 100_000
	}
	if s.Archives == "" {
		s.Archives = ArchivesList
	}
	if s.Malware.Engine == "" {
		s.Malware.Engine = EngineGuardDuty
	}
	if s.Malware.MaxScanBytes == 0 {
		s.Malware.MaxScanBytes = 1 << 30
	}
	if s.Malware.TimeoutMinutes == 0 {
		s.Malware.TimeoutMinutes = 30
	}
	if s.SDC.Threshold == 0 {
		s.SDC.Threshold = 10
	}
	if s.SDC.ZerosDisclosive == nil {
		t := true
		s.SDC.ZerosDisclosive = &t
	}
	if s.SDC.CountColumns == nil {
		s.SDC.CountColumns = DefaultCountColumns
	}
	if s.SDC.MaxBytes == 0 {
		s.SDC.MaxBytes = 64 << 20
	}
	return s
}

// Validate reports every setting that is out of range, naming it as
// cdk.json does.
func (s CheckSettings) Validate() error {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	for _, e := range append(append([]string{}, s.AllowedExtensions...), s.BlockedExtensions...) {
		if e != "" && (!strings.HasPrefix(e, ".") || e != strings.ToLower(e) || strings.ContainsAny(e, "/\\ ")) {
			bad("checks extension %q: want a lower-case extension with its dot, like \".csv\"", e)
		}
	}
	if s.MaxFileBytes < 0 || s.MaxFileBytes > MaxReleaseBytes {
		bad("checks.max_file_bytes %d: must be between 1 and %d, what staging reads back to hash a file within its %d s limit at %d MiB/s",
			s.MaxFileBytes, int64(MaxReleaseBytes), ReleaseTimeLimitSeconds, ReleaseBytesPerSecond>>20)
	}
	if s.MaxTotalBytes < 0 {
		bad("checks.max_total_bytes %d is negative", s.MaxTotalBytes)
	}
	if s.MaxFiles < 0 {
		bad("checks.max_files %d is negative", s.MaxFiles)
	}
	if s.Archives != "" && s.Archives != ArchivesList && s.Archives != ArchivesRefuse {
		bad("checks.archives %q: want %q or %q", s.Archives, ArchivesList, ArchivesRefuse)
	}
	switch s.Malware.Engine {
	case "", EngineGuardDuty, EngineNone:
	case EngineClamAV:
		if s.Malware.ClamdAddress == "" {
			bad("checks.malware.clamd_address is required with engine %q", EngineClamAV)
		}
	default:
		bad("checks.malware.engine %q: want %q, %q or %q", s.Malware.Engine, EngineGuardDuty, EngineClamAV, EngineNone)
	}
	if s.Malware.MaxScanBytes < 0 || s.Malware.TimeoutMinutes < 0 {
		bad("checks.malware max_scan_bytes and timeout_minutes must not be negative")
	}
	if s.Malware.MaxScanBytes > MaxClamdStreamBytes {
		bad("checks.malware.max_scan_bytes %d: at most %d, the longest stream clamd takes", s.Malware.MaxScanBytes, int64(MaxClamdStreamBytes))
	}
	if s.Malware.TimeoutMinutes > MaxScanTimeoutMinutes {
		bad("checks.malware.timeout_minutes %d: at most %d (a day); the request waits that long before review", s.Malware.TimeoutMinutes, MaxScanTimeoutMinutes)
	}
	if s.SDC.Threshold < 0 || s.SDC.MaxBytes < 0 {
		bad("checks.sdc threshold and max_bytes must not be negative")
	}
	for _, p := range s.SDC.CountColumns {
		if _, err := regexp.Compile(p); err != nil {
			bad("checks.sdc.count_columns %q: %v", p, err)
		}
	}
	if len(errs) > 0 {
		return Errorf(EINVALID, "%s", strings.Join(errs, "; "))
	}
	return nil
}

// MaxNotableFindings bounds the findings a request's CheckSummary quotes
// (for notices and lists), so the stored item stays small.
const MaxNotableFindings = 10

// FileFinding is a finding with the path of its file ("" for the request
// as a whole).
type FileFinding struct {
	Path string `json:"path"`
	Finding
}

func (f FileFinding) String() string {
	if f.Path == "" {
		return f.Finding.String()
	}
	return f.Path + ": " + f.Finding.String()
}

// CheckSummary is what the automated checks found in a request, counted,
// with the most severe findings quoted.
type CheckSummary struct {
	Engine   string        `json:"engine"` // the malware engine that ran ("none": none)
	Blocking int           `json:"blocking"`
	Warnings int           `json:"warnings"`
	Info     int           `json:"info"`
	Files    int           `json:"files"`             // files with at least one finding
	Notable  []FileFinding `json:"notable,omitempty"` // up to MaxNotableFindings, blocking first
}

// Blocked reports whether the checks block the request.
func (s CheckSummary) Blocked() bool { return s.Blocking > 0 }

// Summarise counts the findings of files and of the request as a whole.
func Summarise(engine string, request []Finding, files []File) CheckSummary {
	s := CheckSummary{Engine: engine}
	var all []FileFinding
	add := func(path string, fs []Finding) {
		for _, f := range fs {
			switch f.Severity {
			case SeverityBlocking:
				s.Blocking++
			case SeverityWarning:
				s.Warnings++
			default:
				s.Info++
			}
			if f.Severity != SeverityInfo {
				all = append(all, FileFinding{Path: path, Finding: f})
			}
		}
	}
	add("", request)
	for _, f := range files {
		if len(f.Findings) > 0 {
			s.Files++
		}
		add(f.Path, f.Findings)
	}
	for _, sev := range []Severity{SeverityBlocking, SeverityWarning} {
		for _, f := range all {
			if f.Severity == sev && len(s.Notable) < MaxNotableFindings {
				s.Notable = append(s.Notable, f)
			}
		}
	}
	return s
}

// Block ends a PROCESSING request that the automated checks blocked,
// before any review; EndReason quotes the blocking findings.
func Block(r Request, s CheckSummary, now time.Time) (Request, Event, error) {
	if !s.Blocked() {
		return r, Event{}, Errorf(EINVALID, "request %s: no blocking finding, nothing blocks it", r.ID)
	}
	from := r.Status
	if err := CheckTransition(from, StatusBlocked); err != nil {
		return r, Event{}, err
	}
	var why []string
	for _, f := range s.Notable {
		if f.Severity == SeverityBlocking {
			why = append(why, f.Path+": "+f.Message)
		}
	}
	reason := fmt.Sprintf("blocked by automated checks (%d blocking findings): %s", s.Blocking, strings.Join(why, "; "))
	if s.Blocking > len(why) {
		reason += fmt.Sprintf("; and %d more", s.Blocking-len(why))
	}
	reason = truncate(reason, MaxReasonLength)
	r.Status = StatusBlocked
	r.UpdatedAt, r.UpdatedBy = now.UTC(), ActorWorkflow
	r.EndedBy, r.EndReason = ActorWorkflow, reason
	r.CurrentReviewerGroup, r.TaskToken = "", ""
	return r, Event{RequestID: r.ID, At: now.UTC(), Kind: EventBlocked, Actor: ActorWorkflow, From: from, To: StatusBlocked, Reason: reason}, nil
}
