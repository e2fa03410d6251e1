package swb

// StoreStatus is the status of an SWB egress store, attribute "status" of
// SWB's egress store table (contract 2).
type StoreStatus string

const (
	StoreCreated    StoreStatus = "CREATED"
	StorePending    StoreStatus = "PENDING"    // open for the researcher; no egress in flight
	StoreProcessing StoreStatus = "PROCESSING" // locked by an egress in flight; SWB won't terminate the workspace
	StoreProcessed  StoreStatus = "PROCESSED"  // released
	StoreTerminated StoreStatus = "TERMINATED" // SWB's; never touched by the workflow
)
