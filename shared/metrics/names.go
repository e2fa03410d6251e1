package metrics

// Metric names. The stack's alarms and dashboard name the same constants.

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
