package api

import (
	"encoding/json"

	"github.com/tre-egress/egress/shared/egress"
)

// The longest ids intake accepts (swb.ParseMessage): a request id names a
// workflow execution (80 characters), a workspace id a folder (128).
const (
	maxRequestIDLength   = 80
	maxWorkspaceIDLength = 128
)

// checkIDArgs refuses an egress_request_id or workspace_id argument that no
// request can have, naming it, before it reaches a DynamoDB key: a key
// over DynamoDB's limit failed as an internal error. Ids are looked for at
// the top of the arguments, in "request" and in "filter".
func checkIDArgs(raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	var args map[string]json.RawMessage
	if json.Unmarshal(raw, &args) != nil {
		return nil // decodeArgs reports it
	}
	for _, obj := range []map[string]json.RawMessage{args, nested(args["request"]), nested(args["filter"])} {
		for field, limit := range map[string]int{"egress_request_id": maxRequestIDLength, "workspace_id": maxWorkspaceIDLength} {
			var v string
			if obj[field] == nil || json.Unmarshal(obj[field], &v) != nil || v == "" {
				continue
			}
			switch {
			case len(v) > limit:
				return egress.Errorf(egress.EINVALID, "%s: %d bytes long, no %s is longer than %d", field, len(v), field, limit)
			case !safeID(v, limit):
				return egress.Errorf(egress.EINVALID, "%s: must be letters, digits, '-' or '_', got %q", field, v)
			}
		}
	}
	return nil
}

func nested(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// safeID reports whether s is 1 to limit ASCII letters, digits, '-' or '_'.
func safeID(s string, limit int) bool {
	if s == "" || len(s) > limit {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
