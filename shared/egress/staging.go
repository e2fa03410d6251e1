package egress

// The staging bucket's key layout, shared by the workflow that stages and
// releases files and the API that previews them. Staged files keep their
// folders under <ws>/<req>/; manifests sit outside that prefix, so
// deleting the staged data keeps the record of what was submitted.

// StagingPrefix is where r's files are staged.
func StagingPrefix(r Request) string { return r.WorkspaceID + "/" + r.ID + "/" }

// StagedKey is the staging key of r's file at path (File.Path).
func StagedKey(r Request, path string) string { return StagingPrefix(r) + path }

// DatalakePrefix is where a request's release lives in the datalake.
func DatalakePrefix(r Request) string {
	return "approved_egress/" + r.WorkspaceID + "/" + r.ID + "/"
}
