package api

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

// FuzzInputDecoding feeds what a caller controls to the resolver's
// decoders: the arguments of every field (as AppSync passes them), the
// identity's claims, and the next tokens of paged fields. None may panic;
// refusals are EINVALID (EFORBIDDEN for an identity); a next token
// decodes only to what its encoder could have made, and re-encodes to a
// token that decodes the same.
func FuzzInputDecoding(f *testing.F) {
	for _, s := range []struct {
		args, token string
		n           int
	}{
		{`{"request":{"egress_request_id":"r1","task_token":"t","ig_reviewer_1_decision":"APPROVED"}}`, encodePageToken(pageToken{Status: egress.StatusProcessing, Store: "x"}), 3},
		{`{"request":{"egress_request_id":"r1","decision":"approve","files":[{"path":"a","decision":"reject","comment":"c"}]}}`, encodeFileToken(fileToken{Request: "r1", Offset: 1}), 2},
		{`{"filter":{"status":"PROCESSING"},"limit":0,"nextToken":"!!"}`, "e30", 1},
		{`{"limit":1e400}`, encodeFileToken(fileToken{Request: "r1", Offset: -1}), 0},
		{`{"limit":"1"}`, "eyJzIjoiQk9HVVMifQ", 5},
		{`{"request":{"download_count":12}}`, "", 0},
		{`{"sub":"","claims":{"email":"a@b.c","email_verified":"TRUE","cognito:groups":["IG",1,null]}}`, "\x00", 1},
		{`{"claims":{"token_use":"access","email":"  "}}`, "eyJyIjoicjEiLCJvIjo5OTk5OTk5OTk5OTk5OTk5OTk5OX0", 9},
		{`[]`, "eyJyIjpudWxsLCJvIjoxfQ", 2},
		{`"\u0000"`, "=", 2},
	} {
		f.Add([]byte(s.args), s.token, s.n)
	}
	targets := []func() any{
		func() any {
			return &struct {
				Request UpdateInput `json:"request"`
			}{}
		},
		func() any {
			return &struct {
				Request DownloadInput `json:"request"`
			}{}
		},
		func() any {
			return &struct {
				Request ReviewInput `json:"request"`
			}{}
		},
		func() any {
			return &struct {
				Filter *RequestFilter `json:"filter"`
				pageArgs
			}{}
		},
		func() any {
			return &struct {
				ID     string `json:"egress_request_id"`
				Reason string `json:"reason"`
			}{}
		},
	}
	f.Fuzz(func(t *testing.T, args []byte, token string, n int) {
		for _, target := range targets {
			v := target()
			if err := decodeArgs(args, v); err != nil && egress.ErrorCode(err) != egress.EINVALID {
				t.Fatalf("decoding %T: code %s", v, egress.ErrorCode(err))
			}
		}
		var p pageArgs
		if decodeArgs(args, &p) == nil {
			if limit, _, err := p.page(); err == nil && p.Limit != nil && limit == 0 {
				t.Fatal("an explicit limit of 0 was accepted")
			}
		}
		var id Identity
		if json.Unmarshal(args, &id) == nil {
			who, err := id.Caller()
			switch {
			case err != nil && egress.ErrorCode(err) != egress.EFORBIDDEN:
				t.Fatalf("identity refused with %s", egress.ErrorCode(err))
			case err == nil && who.Subject == "" && who.Email == "":
				t.Fatalf("an identity with neither sub nor e-mail accepted: %+v", id)
			}
		}
		for _, queue := range []bool{false, true} {
			if token == "" {
				break // the first page: nothing to decode
			}
			pt, err := decodePageToken(token, egress.Statuses, queue, "foreign")
			if err != nil {
				if egress.ErrorCode(err) != egress.EINVALID {
					t.Fatalf("page token: code %s", egress.ErrorCode(err))
				}
				continue
			}
			if !pt.Status.Valid() || pt.Queue != queue {
				t.Fatalf("page token %+v accepted for queue %v", pt, queue)
			}
			again, err := decodePageToken(encodePageToken(pt), egress.Statuses, queue, "foreign")
			if err != nil || !reflect.DeepEqual(again, pt) {
				t.Fatalf("page token %+v re-encoded decodes to %+v, %v", pt, again, err)
			}
		}
		if off, err := decodeFileToken(token, "r1", n); err != nil {
			if egress.ErrorCode(err) != egress.EINVALID {
				t.Fatalf("file token: code %s", egress.ErrorCode(err))
			}
		} else {
			if off <= 0 || off >= n {
				t.Fatalf("file token offset %d of %d files accepted", off, n)
			}
			if again, err := decodeFileToken(encodeFileToken(fileToken{Request: "r1", Offset: off}), "r1", n); err != nil || again != off {
				t.Fatalf("file token re-encoded: %d, %v", again, err)
			}
		}
	})
}
