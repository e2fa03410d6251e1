package metrics

// The names of egress's metrics and of their dimensions: one list, read by
// the emitters, the stack's dashboard and alarms, and the tests (a metric
// without a dashboard widget fails infra/stack's tests).

// Dimension names.
const (
	DimStatus   = "Status"   // an egress.Status
	DimStage    = "Stage"    // an approval stage's name (from the stack's configuration)
	DimCheck    = "Check"    // an egress.Check* name
	DimSeverity = "Severity" // an egress.Severity
	DimCause    = "Cause"    // an egress.FailureCause: a small fixed set
)

// Metric names emitted by the request lifecycle (h-metrics).
const (
	// Requests counts status changes: one per change, Status the new one.
	Requests = "Requests"
	// TimeToDecision is the seconds a stage awaited its decision, per Stage.
	TimeToDecision = "TimeToDecision"
	// Findings counts the automated checks' findings, per Check and Severity.
	Findings = "Findings"
	// ReleaseBytes and ReleaseSeconds are a release zip's size and the time
	// copy-to-datalake took to write it.
	ReleaseBytes   = "ReleaseBytes"
	ReleaseSeconds = "ReleaseSeconds"
	// Downloads counts granted downloads of released zips.
	Downloads = "Downloads"
	// Failures counts requests ended by a failure, per Cause.
	Failures = "Failures"
)

// Stuck requests and release drift (the check-stuck and verify-releases
// scheduled functions).
const (
	// StuckUnreminded counts requests awaiting a decision longer than
	// their stage's reminder window with no reminder sent.
	StuckUnreminded = "StuckRequestsUnreminded"
	// StuckNoExecution counts requests not final (or approved but not
	// yet released) whose workflow execution is no longer running.
	StuckNoExecution = "StuckRequestsNoExecution"
	// StuckUndelivered counts requests with a recorded decision the
	// workflow has not acknowledged.
	StuckUndelivered = "StuckRequestsUndelivered"
	// ReleasesVerified counts released zips read back and checked.
	ReleasesVerified = "ReleasesVerified"
	// ReleaseDrift counts released zips that differ from what was approved.
	ReleaseDrift = "ReleaseDrift"
)

// Definition is one metric: its name, unit and dimensions (besides Stack,
// which every record has).
type Definition struct {
	Name        string
	Unit        Unit
	Dimensions  []string
	Description string
}

// Definitions is every metric egress emits.
var Definitions = []Definition{
	{Name: Requests, Unit: Count, Dimensions: []string{DimStatus}, Description: "status changes, one per change; Status is the new status"},
	{Name: TimeToDecision, Unit: Seconds, Dimensions: []string{DimStage}, Description: "seconds from a stage awaiting its decision (awaiting_since) to the decision"},
	{Name: Findings, Unit: Count, Dimensions: []string{DimCheck, DimSeverity}, Description: "the automated checks' findings on a request, when check-files finishes"},
	{Name: ReleaseBytes, Unit: Bytes, Description: "size of a release zip written by copy-to-datalake"},
	{Name: ReleaseSeconds, Unit: Seconds, Description: "seconds copy-to-datalake took to write a release zip"},
	{Name: Downloads, Unit: Count, Description: "downloads granted (counted download links handed out)"},
	{Name: Failures, Unit: Count, Dimensions: []string{DimCause}, Description: "requests ended FAILED or EXPIRED, or released and then failed, by cause category"},
	{Name: StuckUnreminded, Unit: Count, Description: "requests awaiting a decision past their stage's reminder window with no reminder sent (check-stuck, every 15 minutes)"},
	{Name: StuckNoExecution, Unit: Count, Description: "requests in flight whose workflow execution is no longer running (check-stuck)"},
	{Name: StuckUndelivered, Unit: Count, Description: "requests with a recorded decision the workflow has not acknowledged (check-stuck)"},
	{Name: ReleasesVerified, Unit: Count, Description: "released zips read back and checked by verify-releases (daily)"},
	{Name: ReleaseDrift, Unit: Count, Description: "released zips that differ from what was approved (verify-releases)"},
}

// Lookup returns the definition of metric name.
func Lookup(name string) (Definition, bool) {
	for _, d := range Definitions {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}
